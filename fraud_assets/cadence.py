"""How often the daemon looks, from the environment when the definitions load.

- `FRAUD_SENSOR_INTERVAL_SECONDS`: one minimum interval for every sensor (unset: each sensor's
  own, 300 s for the retraining triggers and 60 s for the release sensors);
- `FRAUD_MONITORING_CRON`: the monitoring schedule (unset: `0 */6 * * *`, every 6 hours).

Production leaves both unset; `fraudops demo --loop` sets them in its profile
(`fraud_assets.profile`), as tests do in their environment.
"""

from __future__ import annotations

import os

SENSOR_INTERVAL_ENV = "FRAUD_SENSOR_INTERVAL_SECONDS"
MONITORING_CRON_ENV = "FRAUD_MONITORING_CRON"
MONITORING_CRON = "0 */6 * * *"


def sensor_interval(default: int) -> int:
    """`FRAUD_SENSOR_INTERVAL_SECONDS` when set (whole seconds, at least 1), else `default`."""
    from fraud_core.settings import env_number

    value = env_number(SENSOR_INTERVAL_ENV, default, 1)
    if value != int(value):
        raise ValueError(f"{SENSOR_INTERVAL_ENV}={value!r} is not a whole number of seconds")
    return int(value)


def monitoring_cron() -> str:
    """`FRAUD_MONITORING_CRON` when set, else every 6 hours; ValueError names a bad one."""
    from dagster._utils.schedules import is_valid_cron_string

    cron = os.environ.get(MONITORING_CRON_ENV, "").strip() or MONITORING_CRON
    if not is_valid_cron_string(cron):
        raise ValueError(f"{MONITORING_CRON_ENV}={cron!r} is not a cron expression")
    return cron
