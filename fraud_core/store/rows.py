"""Validation of rows before a bulk write: column by column, with a clear error on the first bad
value. Checks run at C speed on well-typed columns and fall back to value-by-value coercion
(numpy scalars, ISO strings, pandas timestamps) only when a column needs it."""

from __future__ import annotations

import json
import math
import numbers
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, Column, Float, Integer, String, Table

from fraud_core.store.models import UTCDateTime, label_events, to_utc

if TYPE_CHECKING:
    import pandas as pd

encode_json = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


@lru_cache(maxsize=16)
def _features_template(names: tuple[str, ...]) -> str:
    return "{" + ",".join(f"{encode_json(name)}:%.9g" for name in names) + "}"


def encode_features(features: Mapping[str, float | None]) -> str:
    """A validated feature mapping as JSON text.

    Features are float32 (`FeatureSpec.dtype`), and 9 significant digits give back every
    float32 value exactly; a float32 widened to a double prints up to 17 digits, and json's
    shortest-repr of those took two thirds of the prediction log's writing time. A mapping
    with a null (missing) value goes through json.
    """
    try:
        return _features_template(tuple(features)) % tuple(features.values())
    except TypeError:  # None among the values
        return encode_json(features)


_FLOATS = frozenset({float, int})
_STRS = frozenset({str})
LABEL_REQUIRED = ("transaction_id", "label", "source", "reported_at")
LABEL_OPTIONAL = ("received_at", "details")


class RowError(ValueError):
    """A row that cannot be stored; the message names the table, the row and the column."""


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()
Columns = dict[str, list[Any]]


def kind_of(column: Column) -> str:
    """How values of `column` are checked: str, float, int, bool, time, features or json."""
    if "kind" in column.info:
        return column.info["kind"]
    for cls, kind in (
        (UTCDateTime, "time"),
        (Boolean, "bool"),
        (Integer, "int"),
        (Float, "float"),
        (String, "str"),
        (JSON, "json"),
    ):
        if isinstance(column.type, cls):
            return kind
    raise TypeError(f"no row check for column {column.name} of type {column.type}")


def parse_time(value: Any) -> datetime:
    """An aware UTC datetime from a datetime, pandas Timestamp or ISO-8601 string."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value != value:  # NaT is a datetime, unequal to itself
        raise ValueError(f"expected a datetime, got {value!r}")
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return to_utc(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"expected a number, got {value!r}")
    return float(value)


def _coerce_str(value: Any, column: Column) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    if column.type.length and len(value) > column.type.length:
        raise ValueError(f"longer than {column.type.length} characters: {value!r}")
    choices = column.info.get("choices")
    if choices and value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {value!r}")
    return str(value)


def _coerce_float(value: Any, column: Column) -> float:
    value = _number(value)
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def _coerce_int(value: Any, column: Column) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"expected an integer, got {value!r}")
    return int(value)


def _coerce_bool(value: Any, column: Column) -> bool:
    if isinstance(value, bool) or type(value).__name__ == "bool_":  # numpy.bool_
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


def _coerce_time(value: Any, column: Column) -> datetime:
    return parse_time(value)


def _coerce_features(value: Any, column: Column) -> dict[str, float | None]:
    """A name -> float mapping; NaN is stored as null (missing), inf is refused."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of feature name to number, got {type(value)}")
    clean: dict[str, float | None] = {}
    for name, number in value.items():
        if not isinstance(name, str):
            raise ValueError(f"feature names must be strings, got {name!r}")
        number = None if number is None else _number(number)
        if number is not None and math.isinf(number):
            raise ValueError(f"feature {name!r} is infinite")
        clean[name] = None if number is None or math.isnan(number) else number
    return clean


def _coerce_json(value: Any, column: Column) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {type(value)}")
    try:
        encode_json(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"not JSON-serialisable: {exc}") from None
    return dict(value)


def _fast_str(values: list, column: Column, types: set) -> list | None:
    texts = values if types == _STRS else [v for v in values if v is not None]
    if not texts:
        return values
    if column.type.length and max(map(len, texts)) > column.type.length:
        return None
    choices = column.info.get("choices")
    return None if choices and not set(texts) <= set(choices) else values


def _fast_float(values: list, column: Column, types: set) -> list | None:
    return values if type(None) not in types and all(map(math.isfinite, values)) else None


def _fast_time(values: list, column: Column, types: set) -> list | None:
    if types != {datetime}:
        return None
    return [v if v.tzinfo is UTC else to_utc(v) for v in values]


def _fast_features(values: list, column: Column, types: set) -> list | None:
    # Whole-column passes over every name and number at C speed, no Python loop per row. Once
    # all numbers are float or int, their sum is finite unless one is NaN or inf (or the sum
    # overflows: the slow path then checks each number).
    def numbers_() -> Iterator[Any]:
        return chain.from_iterable(map(dict.values, values))

    ok = (
        _STRS.issuperset(map(type, chain.from_iterable(values)))
        and _FLOATS.issuperset(map(type, numbers_()))
        and math.isfinite(sum(numbers_()))
    )
    return values if ok else None


Check = tuple[frozenset, Callable[..., list | None] | None, Callable[[Any, Column], Any]]
_CHECKS: dict[str, Check] = {
    "str": (frozenset({str}), _fast_str, _coerce_str),
    "float": (frozenset({float, int}), _fast_float, _coerce_float),
    "int": (frozenset({int}), None, _coerce_int),
    "bool": (frozenset({bool}), None, _coerce_bool),
    "time": (frozenset({datetime}), _fast_time, _coerce_time),
    "features": (frozenset({dict}), _fast_features, _coerce_features),
    "json": (frozenset(), None, _coerce_json),
}


def coerce(value: Any, column: Column) -> Any:
    """One value checked and normalised for `column`; ValueError says what is wrong."""
    if value is None:
        if column.nullable:
            return None
        raise ValueError("must not be null")
    return _CHECKS[kind_of(column)][2](value, column)


def _where(table: Table, columns: Columns, index: int, name: str) -> str:
    ids = columns.get("transaction_id")
    row = f"row {index}" + (f" (transaction_id {ids[index]!r})" if ids else "")
    return f"{table.name} {row}, column {name!r}"


def _fill_missing(
    table: Table, columns: Columns, column: Column, defaults: Mapping[str, Any]
) -> list:
    if column.default is not None and column.default.is_scalar:
        fill = column.default.arg
    elif column.name in defaults:
        fill = defaults[column.name]
    elif column.nullable:
        fill = None
    else:
        values = columns[column.name]
        index = next(i for i, v in enumerate(values) if v is MISSING)
        raise RowError(f"{_where(table, columns, index, column.name)}: missing (required)")
    return [fill if v is MISSING else v for v in columns[column.name]]


def _check_column(
    table: Table, columns: Columns, column: Column, defaults: Mapping[str, Any]
) -> list:
    values = columns[column.name]
    types = set(map(type, values))
    if _Missing in types:
        columns[column.name] = values = _fill_missing(table, columns, column, defaults)
        types = set(map(type, values))
    allowed, fast, _ = _CHECKS[kind_of(column)]
    if column.nullable:
        allowed = allowed | {type(None)}
    if types <= allowed:
        checked = fast(values, column, types) if fast else values
        if checked is not None:
            return checked
    out = []
    for i, value in enumerate(values):
        try:
            out.append(coerce(value, column))
        except (TypeError, ValueError) as exc:
            raise RowError(f"{_where(table, columns, i, column.name)}: {exc}") from None
    return out


def _is_frame(rows: object) -> bool:
    """Whether `rows` is a DataFrame, without importing pandas (no pandas, no DataFrame).

    Another thread may be importing pandas right now: a half-initialized module has no
    DataFrame yet, and then `rows` is not one either."""
    frame = getattr(sys.modules.get("pandas"), "DataFrame", None)
    return frame is not None and isinstance(rows, frame)


def _frame_columns(frame: pd.DataFrame, names: list[str]) -> Columns:
    import pandas as pd

    columns: Columns = {}
    for name in names:
        if name not in frame:
            columns[name] = [MISSING] * len(frame)
            continue
        series = frame[name]
        if isinstance(series.dtype, pd.DatetimeTZDtype) or series.dtype.kind == "M":
            index = pd.DatetimeIndex(series)
            index = index.tz_localize(UTC) if index.tz is None else index.tz_convert(UTC)
            values = index.to_pydatetime().tolist()
            if index.hasnans:
                values = [None if na else v for v, na in zip(values, index.isna(), strict=True)]
            columns[name] = values
        elif series.dtype == object:
            columns[name] = series.where(series.notna(), None).tolist()
        else:
            columns[name] = series.tolist()
    return columns


def _record_columns(rows: Iterable[Mapping[str, Any]], table: Table, names: list[str]) -> Columns:
    rows = rows if isinstance(rows, list | tuple) else list(rows)
    if set(map(type, rows)) - {dict}:
        bad = next((i for i, r in enumerate(rows) if not isinstance(r, Mapping)), None)
        if bad is not None:
            raise RowError(f"{table.name} row {bad}: expected a mapping, got {type(rows[bad])}")
    unknown = set().union(*rows) - set(names)
    if unknown:
        raise RowError(f"{table.name}: unknown column(s) {', '.join(sorted(map(str, unknown)))}")
    try:  # every row has every column: C-speed lookups, no per-row objects for the GC to chase
        return {name: list(map(itemgetter(name), rows)) for name in names}
    except KeyError:
        return {name: [r.get(name, MISSING) for r in rows] for name in names}


def validate(
    table: Table,
    rows: Iterable[Mapping[str, Any]] | pd.DataFrame,
    defaults: Mapping[str, Any] | None = None,
) -> Columns:
    """Validated, normalised columns of `rows` for every non-key column of `table`.

    Datetimes become aware UTC; JSON columns stay mappings (features: str -> finite float or
    None, NaN becoming None). A missing column takes the model's scalar default, then
    `defaults`, then None when nullable; otherwise RowError names the row and column.
    """
    names = [c.name for c in table.columns if not c.primary_key]
    if _is_frame(rows):
        unknown = set(map(str, rows.columns)) - set(names)
        if unknown:
            raise RowError(f"{table.name}: unknown column(s) {', '.join(sorted(unknown))}")
        columns = _frame_columns(rows, names)
    else:
        columns = _record_columns(rows, table, names)
    for column in table.columns:
        if not column.primary_key:
            columns[column.name] = _check_column(table, columns, column, defaults or {})
    return columns


def label_row(row: Any, now: datetime) -> dict[str, Any]:
    """One checked label_events row (received_at defaults to `now`); ValueError says why not."""
    if not isinstance(row, Mapping):
        raise ValueError(f"expected a mapping, got {type(row).__name__}")
    unknown = set(row) - {*LABEL_REQUIRED, *LABEL_OPTIONAL}
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(sorted(map(str, unknown)))}")
    missing = [name for name in LABEL_REQUIRED if row.get(name) in (None, "")]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    record: dict[str, Any] = {"received_at": now, "details": None}
    for name, value in row.items():
        if value is not None:
            try:
                record[name] = coerce(value, label_events.c[name])
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
    return record
