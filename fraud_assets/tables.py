"""Markdown tables for materialization metadata (rendered by the Dagster UI)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import dagster as dg


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"
    return str(value).replace("|", "\\|")


def markdown_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    cell: Callable[[str, Any], str] | None = None,
) -> dg.MetadataValue:
    """A markdown table of `rows` (dicts), in `columns` order (default: the first row's keys);
    `cell(column, value)` formats a cell by its column (default: by the value's type)."""
    rows = list(rows)
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    columns = list(columns or rows[0].keys())

    def show(column: str, value: Any) -> str:
        return _cell(value) if cell is None else cell(column, value).replace("|", "\\|")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(show(c, row.get(c)) for c in columns) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))
