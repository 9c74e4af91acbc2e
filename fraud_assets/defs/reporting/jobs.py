"""The weekly business report job and its schedule (Monday 06:00 UTC, after retraining)."""

import dagster as dg

from fraud_assets.provenance import REASON_TAG

business_report_job = dg.define_asset_job(
    "business_report",
    selection=dg.AssetSelection.assets("business_impact"),
    executor_def=dg.in_process_executor,
    description="The executive report from the stored monitoring figures and the audit log.",
)

business_report_schedule = dg.ScheduleDefinition(
    name="business_report_weekly",
    job=business_report_job,
    cron_schedule="0 6 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={REASON_TAG: "scheduled business report (weekly)"},
)
