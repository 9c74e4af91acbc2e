"""`drift_sensor`: a drift report over its thresholds launches the retraining job, with why.

After the gate refused a candidate against the same champion, drift alone does not launch
another: the next one waits for as many new labels as the label-volume sensor asks for
(`RetrainingTriggers.min_new_labels`) since the refused candidate's label cut-off. Drift that
lasts would otherwise refit a candidate every day on nearly the same labelled rows, for the
gate to refuse it again; the label-volume sensor and the weekly schedule keep their own rules.
"""

import json

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
from fraud_assets.retraining_state import (
    refused_without_new_labels,
    retraining_blocked,
    run_key_used,
)
from fraud_assets.tables import plain_metadata


@dg.sensor(
    name="drift_sensor",
    job=retraining_job,
    minimum_interval_seconds=sensor_interval(300),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Launches retraining when the latest drift_report flags drift (dataset drift "
    "share or score PSI over its thresholds): at most once per champion version and day, "
    "never while a retraining is queued or running or a release is in shadow or canary, and "
    "after the gate refused a candidate against this champion only once N new labels arrived.",
)
def drift_sensor(
    context: dg.SensorEvaluationContext,
    clock: Clock,
    registry: RegistryResource,
    store: FeedbackStoreResource,
    triggers: RetrainingTriggers,
):
    records = context.instance.fetch_materializations(dg.AssetKey("drift_report"), limit=1).records
    seen = json.loads(context.cursor)["storage_id"] if context.cursor else None
    if not records:
        return dg.SkipReason("drift_report has never been materialized")
    (record,) = records
    if record.storage_id == seen:
        return dg.SkipReason(f"no drift report since the one in run {record.run_id or 'none'}")
    cursor = json.dumps({"storage_id": record.storage_id})
    meta = plain_metadata(record.asset_materialization.metadata)
    if not meta.get("drift_detected"):
        return dg.SensorResult(skip_reason=f"no drift: {meta.get('reason')}", cursor=cursor)
    blocked = retraining_blocked(context.instance, registry)
    if blocked:
        return dg.SensorResult(skip_reason=f"drift detected but {blocked}", cursor=cursor)
    version, day = str(meta["model_version"]), str(meta["computed_at"])[:10]
    refused = refused_without_new_labels(
        context.instance, store, version, clock.current(), triggers.min_new_labels
    )
    if refused:
        return dg.SensorResult(skip_reason=f"drift detected but {refused}", cursor=cursor)
    run_key = f"drift:v{version}:{day}"
    if run_key_used(context.instance, run_key):
        return dg.SensorResult(
            skip_reason=f"drift retraining for champion v{version} already launched on {day}",
            cursor=cursor,
        )
    reason = f"drift against champion v{version} reference: {meta['reason']}"
    run_config = {"resources": {"clock": {"config": {"now": clock.now}}}} if clock.now else {}
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=run_key,
                run_config=run_config,
                tags={TRIGGER_TAG: "sensor:drift_sensor", REASON_TAG: reason[:4000]},
            )
        ],
        cursor=cursor,
    )
