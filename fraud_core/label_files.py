"""Ticket exports of verified outcomes (CSV with a header, or JSON lines) into `label_events`.

Shared by the `ground_truth_labels` asset and `fraudops labels import`. Every row is checked
against the `Label` schema; a bad row is reported with its line and reason and never stops the
good rows (the store rejects labels of unknown transactions the same way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fraud_core.store import FeedbackStore

LANDING_PATTERNS = ("*.csv", "*.jsonl")
DEFAULT_SOURCE = "ticket_export"


@dataclass
class LabelFileImport:
    """What one export file gave: rows read, labels loaded, and one problem per bad row."""

    file: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    bad: list[dict[str, Any]] = field(default_factory=list)

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated


def landing_day(path: Path) -> str:
    """The day a landing file belongs to: the YYYY-MM-DD in its name, else its mtime's day."""
    found = re.search(r"\d{4}-\d{2}-\d{2}", path.stem)
    if found:
        return found.group()
    return datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The file's rows as dicts (CSV with a header, or JSON lines); empty cells dropped."""
    import pandas as pd

    if path.suffix == ".csv":
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    elif path.suffix == ".jsonl":
        frame = pd.read_json(path, lines=True, dtype=False)
    else:
        raise ValueError(f"{path.name}: expected a .csv or .jsonl export")
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
            where = ".".join(str(p) for p in first["loc"]) or "row"
            bad.append(
                {
                    "file": path.name,
                    "line": line,
                    "transaction_id": row.get("transaction_id"),
                    "reason": f"{where}: {first['msg']}",
                }
            )
            continue
        record = label.model_dump(exclude={"note"})
        record["details"] = {"file": path.name, "note": label.note} if label.note else None
        good.append((line, record))
    return good, bad


def import_label_file(path: Path, store: FeedbackStore) -> LabelFileImport:
    """Load one export into the store (idempotent on transaction and source)."""
    result = LabelFileImport(file=path.name)
    try:
        rows = read_rows(path)
    except Exception as err:  # an unreadable export is reported; the caller goes on
        result.bad.append({"file": path.name, "line": 0, "reason": f"unreadable: {err}"})
        return result
    labels, invalid = validate_rows(path, rows)
    upsert = store.upsert_labels([record for _, record in labels])
    rejected = [
        {
            "file": path.name,
            "line": labels[r.index][0],
            "transaction_id": r.transaction_id,
            "reason": r.reason,
        }
        for r in upsert.rejected
    ]
    result.rows, result.inserted, result.updated = len(rows), upsert.inserted, upsert.updated
    result.bad = invalid + rejected
    return result
