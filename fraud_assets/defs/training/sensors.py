"""`label_volume_sensor`: retrain once enough new labels have matured since the last training."""

import json
from datetime import datetime

import dagster as dg

from fraud_assets.cadence import sensor_interval
from fraud_assets.defs.training.jobs import retraining_job
from fraud_assets.provenance import REASON_TAG, TRIGGER_TAG
from fraud_assets.resources import (
    Clock,
    FeedbackStoreResource,
    RegistryResource,
    RetrainingTriggers,
)
from fraud_assets.retraining_state import last_training_as_of, retraining_blocked, run_key_used


@dg.sensor(
    name="label_volume_sensor",
    job=retraining_job,
    minimum_interval_seconds=sensor_interval(300),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches retraining when >= N labels (disputes, chargebacks, ticket exports) "
    "were reported since the last training; never while a retraining is queued or running "
    "or a release is in shadow or canary.",
)
def label_volume_sensor(
    context: dg.SensorEvaluationContext,
    store: FeedbackStoreResource,
    clock: Clock,
    triggers: RetrainingTriggers,
    registry: RegistryResource,
):
    from fraud_core.store.label_queries import labels_reported

    now = clock.current()
    cursor = json.loads(context.cursor) if context.cursor else {}
    marks = [last_training_as_of(context.instance)]
    if cursor.get("watermark"):
        marks.append(datetime.fromisoformat(cursor["watermark"]))
    since = max((m for m in marks if m is not None), default=None)
    fresh, latest = labels_reported(store.open(), since, now)  # one aggregate: ask it first
    since_text = since.isoformat() if since else "the beginning"
    if fresh < triggers.min_new_labels:
        return dg.SkipReason(f"{fresh} new labels since {since_text} (< {triggers.min_new_labels})")
    blocked = retraining_blocked(context.instance, registry)
    if blocked:
        return dg.SkipReason(f"{blocked}; {fresh} new labels keep counting")
    watermark = latest.isoformat()
    run_key = f"label_volume:{since_text}:{watermark}"
    new_cursor = json.dumps({"watermark": watermark})
    if run_key_used(context.instance, run_key):
        return dg.SensorResult(skip_reason=f"a run for {run_key} already exists", cursor=new_cursor)
    reason = (
        f"{fresh} new labels since {since_text} up to {watermark} (>= {triggers.min_new_labels})"
    )
    run_config = {"resources": {"clock": {"config": {"now": clock.now}}}} if clock.now else {}
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                run_config=run_config,
                tags={TRIGGER_TAG: "sensor:label_volume_sensor", REASON_TAG: reason},
            )
        ],
        cursor=new_cursor,
    )
