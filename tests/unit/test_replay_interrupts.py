"""A stop request (SIGINT or SIGTERM) reaches the replay even when it arrives during a Dagster
run, which captures both signals and forgets them when the run ends."""

from __future__ import annotations

import os
import signal

import pytest


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_dagster_run_is_not_lost(signum: int) -> None:
    from dagster._utils.interrupts import capture_interrupts

    from fraud_assets.replay.interrupts import stop_requests

    before = signal.getsignal(signal.SIGTERM)
    with stop_requests() as check_stop:
        check_stop()  # nothing asked yet
        with capture_interrupts():  # what execute_in_process does around a run
            os.kill(os.getpid(), signum)
        with pytest.raises(KeyboardInterrupt):
            check_stop()
        check_stop()  # asked once, answered once
    assert signal.getsignal(signal.SIGTERM) is before  # restored
