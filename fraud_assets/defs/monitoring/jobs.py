"""The monitoring job and its schedule: drift and performance every 6 hours by default
(`FRAUD_MONITORING_CRON`, read when the definitions load: daily suits lower volumes, where
the drift window of 10,000 payments takes longer to fill)."""

import os

import dagster as dg
from dagster._utils.schedules import is_valid_cron_string

from fraud_assets.provenance import REASON_TAG

MONITORING_ASSETS = (
    "reference_profile",
    "drift_report",
    "model_performance",
    "performance_estimate",
)

monitoring_job = dg.define_asset_job(
    "monitoring",
    selection=dg.AssetSelection.assets(*MONITORING_ASSETS),
    executor_def=dg.in_process_executor,
    description="Reference profile (reused while the champion stays), drift report, realized "
    "and label-free performance; each writes its figures to monitoring_metrics.",
)


def monitoring_cron() -> str:
    """The monitoring cadence; ValueError names a bad `FRAUD_MONITORING_CRON`."""
    cron = os.environ.get("FRAUD_MONITORING_CRON", "").strip() or "0 */6 * * *"
    if not is_valid_cron_string(cron):
        raise ValueError(f"FRAUD_MONITORING_CRON={cron!r} is not a cron expression")
    return cron


drift_schedule = dg.ScheduleDefinition(
    name="drift_every_6_hours",
    job=monitoring_job,
    cron_schedule=monitoring_cron(),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={REASON_TAG: f"scheduled monitoring (cron {monitoring_cron()})"},
)
