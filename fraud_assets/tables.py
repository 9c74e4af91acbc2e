"""Tables in materialization metadata: `MetadataValue.table` with a schema (the Dagster UI
sorts and shows them as tables), and metadata read back as plain values."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import dagster as dg

_TYPES = ((bool, "bool"), (Integral, "int"), (Real, "float"))


def metadata_table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] | None = None,
    cell: Callable[[str, Any], str] | None = None,
) -> dg.MetadataValue:
    """`rows` (dicts) as a table, in `columns` order (default: the first row's keys). A column's
    type comes from its values (bool, int, float, else string); `cell(column, value)` shows a
    column's values as text instead (percentages, money). NaN is shown empty."""
    rows = list(rows)
    columns = list(columns or (rows[0].keys() if rows else []))
    records = [{c: _value(c, row.get(c), cell) for c in columns} for row in rows]
    schema = dg.TableSchema(
        columns=[dg.TableColumn(c, _column_type([r[c] for r in records])) for c in columns]
    )
    return dg.MetadataValue.table(records=[dg.TableRecord(r) for r in records], schema=schema)


def _value(column: str, value: Any, cell: Callable[[str, Any], str] | None) -> Any:
    if cell is not None:
        return cell(column, value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return bool(value)  # also numpy's bool_, which is not a number
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return None if math.isnan(value) else float(value)
    return str(value)


def _column_type(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    for kind, name in _TYPES:
        if present and all(isinstance(v, kind) for v in present):
            return name
    return "string"


def plain_metadata(metadata: Mapping[str, dg.MetadataValue]) -> dict[str, Any]:
    """Metadata as plain values, for a console or a report: a table becomes a list of dicts."""
    return {key: _plain(value) for key, value in metadata.items()}


def _plain(value: dg.MetadataValue) -> Any:
    if isinstance(value, dg.TableMetadataValue):
        return [dict(record.data) for record in value.records]
    return value.value
