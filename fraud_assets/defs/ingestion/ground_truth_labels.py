"""`ground_truth_labels`: ticket exports from the landing folder into `label_events`, and the
day's labels already posted to the store. Idempotent (upsert on transaction and source); a bad
row is reported in metadata and never stops the good rows."""

import dagster as dg

from fraud_assets.partitions import daily_partitions, day_bounds
from fraud_assets.provenance import provenance
from fraud_assets.resources import FeedbackStoreResource, LocalFolder
from fraud_assets.tables import metadata_table
from fraud_core.label_files import LANDING_PATTERNS, import_label_file, landing_day

MAX_REPORTED_BAD_ROWS = 50


@dg.asset(
    partitions_def=daily_partitions(),
    group_name="ingestion",
    kinds={"sql", "pandas"},
    owners=["team:data"],
    description="Verified labels of the day: ticket exports from the landing folder and the "
    "disputes and chargebacks already posted to the store.",
)
def ground_truth_labels(
    context: dg.AssetExecutionContext, store: FeedbackStoreResource, landing: LocalFolder
) -> dg.MaterializeResult:
    day = context.partition_key
    start, end = day_bounds(day)
    feedback = store.open()
    folder = landing.dir()
    files = sorted(
        p for pattern in LANDING_PATTERNS for p in folder.glob(pattern) if landing_day(p) == day
    )
    per_file, bad, inserted, updated = [], [], 0, 0
    for path in files:
        loaded = import_label_file(path, feedback)
        bad += loaded.bad
        inserted += loaded.inserted
        updated += loaded.updated
        per_file.append(
            {
                "file": path.name,
                "rows": loaded.rows,
                "loaded": loaded.loaded,
                "bad": len(loaded.bad),
            }
        )
    events = feedback.label_events(since=start)
    todays = events[(events["reported_at"] >= start) & (events["reported_at"] < end)]
    by_source = todays.groupby(["source", "label"]).size()
    if bad:
        context.log.warning(f"{len(bad)} bad label rows on {day}: see the bad_rows table")
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "landing_folder": dg.MetadataValue.path(str(folder)),
            "files": metadata_table(per_file, ["file", "rows", "loaded", "bad"]),
            "inserted": inserted,
            "updated": updated,
            "bad_row_count": len(bad),
            "bad_rows": metadata_table(
                bad[:MAX_REPORTED_BAD_ROWS], ["file", "line", "transaction_id", "reason"]
            ),
            "dagster/row_count": len(todays),
            "labels_reported_today": metadata_table(
                [{"source": s, "label": lab, "labels": int(n)} for (s, lab), n in by_source.items()]
            ),
        }
    )
