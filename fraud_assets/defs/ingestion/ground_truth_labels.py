"""`ground_truth_labels`: ticket exports from the landing folder into `label_events`, and the
day's labels already posted to the store. Idempotent (upsert on transaction and source); a bad
row is reported in metadata and never stops the good rows."""

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from fraud_assets.partitions import daily, day_bounds
from fraud_assets.provenance import provenance
from fraud_assets.resources import FeedbackStoreResource, LocalFolder
from fraud_assets.tables import markdown_table

LANDING_PATTERNS = ("*.csv", "*.jsonl")
DEFAULT_SOURCE = "ticket_export"
MAX_REPORTED_BAD_ROWS = 50


def landing_day(path: Path) -> str:
    """The day a landing file belongs to: the YYYY-MM-DD in its name, else its mtime's day."""
    found = re.search(r"\d{4}-\d{2}-\d{2}", path.stem)
    if found:
        return found.group()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows as dicts of strings (CSV with a header, or JSON lines)."""
    import pandas as pd

    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    else:
        frame = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    return [
        {k: v for k, v in row.items() if v not in ("", None)}
        for row in frame.to_dict(orient="records")
    ]


def validate_rows(path: Path, rows: list[dict[str, Any]]) -> tuple[list, list[dict]]:
    """(line, label_events row) for rows that pass the Label schema, and one problem per row
    that does not (lines numbered from 1 after the header)."""
    from pydantic import ValidationError

    from fraud_core.schema import Label

    good, bad = [], []
    for line, row in enumerate(rows, start=1):
        try:
            label = Label.model_validate({"source": DEFAULT_SOURCE, **row})
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "row"
            bad.append(
                {
                    "file": path.name,
                    "line": line,
                    "transaction_id": row.get("transaction_id"),
                    "reason": f"{field}: {first['msg']}",
                }
            )
            continue
        record = label.model_dump(exclude={"note"})
        record["details"] = {"file": path.name, "note": label.note} if label.note else None
        good.append((line, record))
    return good, bad


@dg.asset(
    partitions_def=daily,
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
        try:
            rows = read_rows(path)
        except Exception as err:  # an unreadable export is reported, the others still load
            bad.append({"file": path.name, "line": 0, "reason": f"unreadable: {err}"})
            per_file.append({"file": path.name, "rows": 0, "loaded": 0, "bad": 1})
            continue
        labels, invalid = validate_rows(path, rows)
        result = feedback.upsert_labels([record for _, record in labels])
        rejected = [
            {
                "file": path.name,
                "line": labels[r.index][0],
                "transaction_id": r.transaction_id,
                "reason": r.reason,
            }
            for r in result.rejected
        ]
        bad += invalid + rejected
        inserted += result.inserted
        updated += result.updated
        per_file.append(
            {
                "file": path.name,
                "rows": len(rows),
                "loaded": len(labels) - len(rejected),
                "bad": len(invalid) + len(rejected),
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
            "files": markdown_table(per_file, ["file", "rows", "loaded", "bad"]),
            "inserted": inserted,
            "updated": updated,
            "bad_row_count": len(bad),
            "bad_rows": markdown_table(
                bad[:MAX_REPORTED_BAD_ROWS], ["file", "line", "transaction_id", "reason"]
            ),
            "dagster/row_count": len(todays),
            "labels_reported_today": markdown_table(
                [{"source": s, "label": lab, "labels": int(n)} for (s, lab), n in by_source.items()]
            ),
        }
    )
