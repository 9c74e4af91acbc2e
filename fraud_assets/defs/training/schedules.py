"""Weekly retraining, Monday 02:00 UTC, as in the case study; skipped (with the reason) while a
retraining is in flight or a release is in shadow or canary, as the retraining sensors wait."""

import dagster as dg

from fraud_assets.defs.training.jobs import retraining_job
from fraud_assets.provenance import REASON_TAG
from fraud_assets.resources import RegistryResource
from fraud_assets.retraining_state import retraining_blocked

REASON = "weekly retraining (Monday 02:00 UTC)"


@dg.schedule(
    name="weekly_retraining",
    job=retraining_job,
    cron_schedule="0 2 * * 1",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Retrains every Monday 02:00 UTC; skips the week while a retraining is queued "
    "or running or a release is in shadow or canary (one candidate at a time).",
)
def weekly_retraining(context: dg.ScheduleEvaluationContext, registry: RegistryResource):
    blocked = retraining_blocked(context.instance, registry)
    if blocked:
        return dg.SkipReason(f"{blocked}; next Monday retrains")
    when = context.scheduled_execution_time.isoformat()
    return dg.RunRequest(run_key=f"weekly:{when}", tags={REASON_TAG: REASON})
