"""`online_log`: the prediction log's day partitions ahead of time, and its retention."""

import dagster as dg

from fraud_assets.provenance import provenance
from fraud_assets.resources import Clock, FeedbackStoreResource, LakeResource
from fraud_assets.tables import metadata_table

DAYS_AHEAD = 7  # partitions created ahead of the clock's day (rows never wait in the default)


@dg.asset(
    deps=["prediction_history"],
    group_name="ingestion",
    kinds={"sql"},
    owners=["team:data"],
    description="The online prediction log's upkeep: day partitions created a week ahead "
    "(PostgreSQL), and, with FRAUD_ONLINE_RETENTION_DAYS set, every older day whose lake "
    "partition matches the store dropped from it (audited); a day not exported, or whose "
    "manifest differs, stays. Keys of dropped predictions stay FRAUD_KEY_RETENTION_DAYS for late "
    "labels, then those no label names are dropped (audited).",
)
def online_log(
    context: dg.AssetExecutionContext,
    store: FeedbackStoreResource,
    lake: LakeResource,
    clock: Clock,
) -> dg.MaterializeResult:
    from datetime import timedelta

    from fraud_core.settings import get_settings
    from fraud_core.store.retention import retire_exported_days, retire_unlabelled_keys

    now = clock.current()
    feedback = store.open()
    created = feedback.ensure_partitions(now.date() + timedelta(days=d) for d in range(DAYS_AHEAD))
    settings = get_settings()
    keep_days = settings.online_retention_days
    metadata = {
        **provenance(context),
        "partitions_created": [f"{day:%Y-%m-%d}" for day in created],
        "retention_days": keep_days or "off",
    }
    if keep_days:
        result = retire_exported_days(feedback, lake.open().manifest, keep_days, now)
        keys = retire_unlabelled_keys(feedback, settings.key_retention_days, now)
        context.log.info(
            f"retention: dropped {list(result.dropped)}, kept {result.kept}, {keys} keys dropped"
        )
        metadata |= {
            "keys_dropped": keys,
            "days_dropped": len(result.dropped),
            "dropped": metadata_table([{"day": d, "how": h} for d, h in result.dropped.items()]),
            "kept": metadata_table([{"day": d, "why": w} for d, w in result.kept.items()]),
        }
    return dg.MaterializeResult(metadata=metadata)
