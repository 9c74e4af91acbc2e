"""The monitoring job and its schedule: drift and performance every 6 hours."""

import dagster as dg

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

drift_schedule = dg.ScheduleDefinition(
    name="drift_every_6_hours",
    job=monitoring_job,
    cron_schedule="0 */6 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={REASON_TAG: "scheduled monitoring (every 6 hours)"},
)
