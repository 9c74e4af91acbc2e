"""How often the daemon looks, from `fraud_core.settings` when the definitions load.

- `FRAUD_SENSOR_INTERVAL_SECONDS`: one minimum interval for every sensor (unset: each sensor's
  own, 300 s for the retraining triggers and 60 s for the release sensors);
- `FRAUD_MONITORING_CRON`: the monitoring schedule (unset: `0 */6 * * *`, every 6 hours).

Production leaves both unset; `fraudops demo --loop` sets them in its profile
(`fraud_assets.profile`), as tests do in their environment.
"""

from __future__ import annotations

from fraud_core.settings import Settings, get_settings


def sensor_interval(default: int) -> int:
    """`FRAUD_SENSOR_INTERVAL_SECONDS` when set (whole seconds, at least 1), else `default`."""
    return get_settings().sensor_interval_seconds or default


def monitoring_cron() -> str:
    """`FRAUD_MONITORING_CRON` when set, else every 6 hours; ValueError names a bad one."""
    from dagster._utils.schedules import is_valid_cron_string

    cron = get_settings().monitoring_cron
    if not is_valid_cron_string(cron):
        raise ValueError(
            f"{Settings.variable('monitoring_cron')}={cron!r} is not a cron expression"
        )
    return cron
