"""`FRAUD_MONITORING_CRON` sets the monitoring schedule when the definitions load."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "from fraud_assets.definitions import defs;"
    "s = defs().resolve_schedule_def('drift_every_6_hours');"
    "print(s.cron_schedule, '|', s.tags['fraud/reason'])"
)


def _load(cron: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FRAUD_MONITORING_CRON"}
    if cron is not None:
        env["FRAUD_MONITORING_CRON"] = cron
    cmd = [sys.executable, "-W", "ignore", "-c", PROBE]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_six_hourly_by_default_daily_when_set_and_a_bad_value_is_named() -> None:
    default, daily, bad = _load(None), _load("30 1 * * *"), _load("every day")
    assert default.stdout.strip().splitlines()[-1].startswith("0 */6 * * * |")
    assert (
        daily.stdout.strip().splitlines()[-1]
        == "30 1 * * * | scheduled monitoring (cron 30 1 * * *)"
    )
    assert bad.returncode != 0 and "FRAUD_MONITORING_CRON='every day'" in bad.stderr
