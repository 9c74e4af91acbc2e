"""`make run`'s Ctrl-C: each service's process group is stopped as soon as it is gone, and one
that ignores SIGTERM is killed at the deadline (real processes, no mocks)."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from fraud_assets import platform
from fraud_assets.platform import Service

# a leader that exits on SIGTERM and a child of it, in the same group, that exits with it
OBEDIENT = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
    "print('ready', flush=True); time.sleep(120)"
)
# a leader whose child ignores SIGTERM and outlives it
STUBBORN_CHILD = (
    "import subprocess, sys, time; "
    "subprocess.Popen([sys.executable, '-c', "
    "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
    'print("ready", flush=True); time.sleep(120)\']); time.sleep(120)'
)


def _started(tmp_path, code: str) -> Service:
    service = Service("test", [sys.executable, "-c", code], "", "", log=tmp_path / "out.log")
    service.start(dict(os.environ))
    deadline = time.monotonic() + 30
    while "ready" not in (service.log.read_text() if service.log.exists() else ""):
        assert time.monotonic() < deadline, "the test service did not start"
        time.sleep(0.05)
    return service


def test_a_group_that_exits_on_sigterm_stops_at_once(tmp_path) -> None:
    service = _started(tmp_path, OBEDIENT)
    group = os.getpgid(service.process.pid)
    started = time.monotonic()
    service.stop()
    took = time.monotonic() - started
    # before the fix the leader's unreaped zombie kept the group "alive" for STOP_TIMEOUT_S
    assert took < platform.STOP_TIMEOUT_S / 2, f"stop took {took:.1f} s"
    assert service.process.returncode == -signal.SIGTERM
    assert not platform._group_alive(group)


def test_a_child_that_ignores_sigterm_is_killed_at_the_deadline(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(platform, "STOP_TIMEOUT_S", 1.0)
    service = _started(tmp_path, STUBBORN_CHILD)
    group = os.getpgid(service.process.pid)
    started = time.monotonic()
    service.stop()
    took = time.monotonic() - started
    assert 1.0 <= took < 10, f"stop took {took:.1f} s"
    deadline = time.monotonic() + 5  # SIGKILL is delivered asynchronously
    while platform._group_alive(group):
        if time.monotonic() > deadline:
            pytest.fail("the child that ignored SIGTERM is still alive")
        time.sleep(0.05)
