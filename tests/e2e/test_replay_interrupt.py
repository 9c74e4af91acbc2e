"""An operator stops a replay with `kill` (SIGTERM) while a Dagster run is executing (the first
champion's retraining): the replay stops when the run ends, with exit code 130 and a word on
where it stood, rather than the run swallowing the signal and the replay going on for half an
hour (or, at this size, the gate's refusal being reported as the outcome)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_sigterm_during_a_dagster_run_stops_the_replay(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_"))}
    env.pop("DAGSTER_HOME", None)
    env["FRAUD_VAR_DIR"] = str(tmp_path / "var")
    command = [str(Path(sys.executable).parent / "fraudops"), "replay", "--platform"]
    command += ["--tx-per-day", "500", "--no-progress"]
    replay = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    run_log = tmp_path / "var" / "replay" / "seed-0" / "first_champion.log"
    deadline = time.monotonic() + 300
    try:
        # the first champion's retraining run has started: Dagster captures signals now
        while not (run_log.exists() and "STEP_START" in run_log.read_text()):
            assert replay.poll() is None, replay.communicate()
            assert time.monotonic() < deadline, "the first champion's run never started"
            time.sleep(0.2)
        replay.send_signal(signal.SIGTERM)
        out, err = replay.communicate(timeout=180)
    finally:
        replay.kill()
    assert replay.returncode == 130, (out, err[-3000:])
    assert "replay interrupted before its first simulated hour" in err
    assert "Traceback" not in err
