"""Weekly retraining, Monday 02:00 UTC, as in the case study."""

import dagster as dg

from fraud_assets.defs.training.jobs import retraining_job
from fraud_assets.provenance import REASON_TAG

weekly_retraining = dg.ScheduleDefinition(
    name="weekly_retraining",
    job=retraining_job,
    cron_schedule="0 2 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={REASON_TAG: "weekly retraining (Monday 02:00 UTC)"},
)
