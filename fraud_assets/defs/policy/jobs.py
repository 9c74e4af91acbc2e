"""The threshold policy job and its daily schedule."""

import dagster as dg

from fraud_assets.provenance import REASON_TAG

threshold_policy_job = dg.define_asset_job(
    "threshold_policy_update",
    selection=dg.AssetSelection.assets("threshold_policy"),
    executor_def=dg.in_process_executor,
    description="Learns the contextual thresholds from the latest matured labels and writes "
    "a new policy version (the scorer applies it on its next poll).",
)

threshold_policy_schedule = dg.ScheduleDefinition(
    name="threshold_policy_daily",
    job=threshold_policy_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={REASON_TAG: "scheduled threshold policy update (daily)"},
)
