"""The monitoring job and its schedule: drift and performance every 6 hours by default
(`FRAUD_MONITORING_CRON`, read when the definitions load: daily suits lower volumes, where
the drift window of 10,000 payments takes longer to fill; the demo runs it every minute).
A tick is skipped while the previous monitoring run is still queued or running."""

import dagster as dg

from fraud_assets.cadence import monitoring_cron
from fraud_assets.provenance import REASON_TAG
from fraud_assets.retraining_state import IN_FLIGHT
from fraud_core.settings import MONITORING_CRON

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

CRON = monitoring_cron()


@dg.schedule(
    name="drift_every_6_hours",
    job=monitoring_job,
    cron_schedule=CRON,
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={REASON_TAG: f"scheduled monitoring (cron {CRON})"},
    description=f"Monitoring on `{CRON}` (default `{MONITORING_CRON}`, FRAUD_MONITORING_CRON); "
    "skips a tick while the previous monitoring run is in flight.",
)
def drift_schedule(context: dg.ScheduleEvaluationContext):
    runs = context.instance.get_runs(
        filters=dg.RunsFilter(job_name="monitoring", statuses=IN_FLIGHT), limit=1
    )
    if runs:
        return dg.SkipReason(f"monitoring run {runs[0].run_id} is still in flight")
    when = context.scheduled_execution_time
    return dg.RunRequest(run_key=f"monitoring:{when.isoformat() if when else 'now'}")
