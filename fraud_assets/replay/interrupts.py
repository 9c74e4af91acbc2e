"""Stopping a replay with Ctrl-C or SIGTERM (an operator's `kill`).

A Dagster run executed in process captures SIGINT (and SIGTERM, which Dagster maps to it) and
forgets it when the run ends (`dagster._utils.interrupts.capture_interrupts`); a replay spends
most of its time in runs, so a plain signal handler would lose most stop requests. The
interpreter's wakeup fd records every signal whatever handler is in force: the replay reads it
between simulated hours.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


class ReplayInterrupted(Exception):
    """A stop request ended the replay before its last simulated hour."""


@contextmanager
def stop_requests() -> Iterator[Callable[[], None]]:
    """A check that raises KeyboardInterrupt once SIGINT or SIGTERM arrived since entry, even
    during a Dagster run. Outside runs SIGTERM interrupts at once, like SIGINT."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: None  # signals reach the main thread only
        return
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous_term = signal.signal(signal.SIGTERM, signal.default_int_handler)

    def check() -> None:
        try:
            received = reader.recv(4096)
        except BlockingIOError:
            return
        if STOP_SIGNALS & set(received):
            raise KeyboardInterrupt

    try:
        yield check
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGTERM, previous_term)
        reader.close()
        writer.close()
