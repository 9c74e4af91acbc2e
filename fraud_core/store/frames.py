"""Query results as pandas DataFrames, with UTC timestamps and parsed JSON (pandas is imported
on first use: writers such as the scorer never pay for it)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import JSON, Connection, DateTime, Select, String, type_coerce

from fraud_core.store.models import UTCDateTime

if TYPE_CHECKING:
    import pandas as pd


def read_frame(conn: Connection, stmt: Select) -> pd.DataFrame:
    """Run `stmt` into a DataFrame: timestamps as datetime64[ns, UTC], JSON columns as dicts.

    Timestamps and JSON skip SQLAlchemy's per-value processing and are converted column by
    column (SQLite hands back text, PostgreSQL aware datetimes and parsed JSON).
    """
    import pandas as pd

    sqlite = conn.dialect.name == "sqlite"
    times, jsons, selected = [], [], []
    for column in stmt.selected_columns:
        if isinstance(column.type, UTCDateTime):
            times.append(column.key)
            raw = String() if sqlite else DateTime(timezone=True)
            column = type_coerce(column, raw).label(column.key)
        elif isinstance(column.type, JSON):
            jsons.append(column.key)
            column = type_coerce(column, String()).label(column.key) if sqlite else column
        selected.append(column)
    result = conn.execute(stmt.with_only_columns(*selected))
    frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    for name in times:
        frame[name] = (
            pd.to_datetime(frame[name], utc=True, format="ISO8601")
            if sqlite
            else pd.to_datetime(frame[name], utc=True)
        )
    for name in jsons:
        if sqlite:
            frame[name] = [None if v is None else json.loads(v) for v in frame[name]]
    return frame


def features_frame(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The `features` dict column as float64 columns in `names` order (absent or null -> NaN);
    a frame with one column per feature instead (the lake's) gives those columns."""
    import pandas as pd

    if "features" not in frame:
        return frame[list(names)].astype("float64")

    values = pd.DataFrame.from_records(
        frame["features"].tolist(), columns=list(names), index=frame.index
    )
    return values.astype("float64")
