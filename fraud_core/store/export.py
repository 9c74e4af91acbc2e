"""One window of the prediction log as an Arrow table in the lake's schema (`fraud_core.lake`
writes it as a day's partition; the lake's schema is imported where it is used, as the lake
imports this module).

PostgreSQL: one `COPY ... TO STDOUT (FORMAT CSV)` whose SELECT extracts each feature from the
JSONB as float4 on the server; pyarrow parses the CSV in C (no Python object per value).
SQLite (laptops, tests): the store's frame with its feature dicts, converted once.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from fraud_core.features import FEATURE_NAMES
from fraud_core.store.frames import features_frame, read_frame
from fraud_core.store.models import predictions, to_utc

if TYPE_CHECKING:
    import pyarrow as pa

    from fraud_core.store import FeedbackStore


def export_window(store: FeedbackStore, start: datetime, end: datetime) -> pa.Table:
    """Predictions with start <= event_time < end, ordered by (event_time, id)."""
    start, end = to_utc(start), to_utc(end)
    if store.engine.dialect.name == "postgresql":
        return _pg_window(store, start, end)
    return _generic_window(store, start, end)


def _generic_window(store: FeedbackStore, start: datetime, end: datetime) -> pa.Table:
    import pyarrow as pa

    from fraud_core.lake.schema import FEATURE_PREFIX, PREDICTION_COLUMNS, lake_schema

    p = predictions.c
    stmt = (
        select(predictions)
        .where(p.event_time >= start, p.event_time < end)
        .order_by(p.event_time, p.id)
    )
    with store.engine.connect() as conn:
        frame = read_frame(conn, stmt)
    if frame.empty:
        return lake_schema().empty_table()
    values = features_frame(frame, FEATURE_NAMES).astype("float32")
    values.columns = [FEATURE_PREFIX + name for name in FEATURE_NAMES]
    frame = frame[list(PREDICTION_COLUMNS)].join(values)
    return pa.Table.from_pandas(frame, schema=lake_schema(), preserve_index=False)


def _pg_window(store: FeedbackStore, start: datetime, end: datetime) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv

    from fraud_core.lake.schema import FEATURE_PREFIX, lake_schema

    schema = lake_schema()
    quote = store.engine.dialect.identifier_preparer.quote
    exprs = []
    for field in schema:
        name = field.name
        if name.startswith(FEATURE_PREFIX):
            key = name.removeprefix(FEATURE_PREFIX).replace("'", "''")
            exprs.append(f"(features->>'{key}')::float4 AS {quote(name)}")
        elif pa.types.is_timestamp(field.type):
            exprs.append(f"(extract(epoch FROM {name}) * 1000000)::int8 AS {name}")
        else:
            exprs.append(quote(name))
    sql = (
        f"COPY (SELECT {', '.join(exprs)} FROM predictions "
        f"WHERE event_time >= '{start.isoformat()}' AND event_time < '{end.isoformat()}' "
        "ORDER BY event_time, id) TO STDOUT (FORMAT CSV, HEADER)"
    )
    buffer = io.BytesIO()
    with store.engine.connect() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor, cursor.copy(sql) as copy:
            for block in copy:
                buffer.write(block)
    types = {f.name: pa.int64() if pa.types.is_timestamp(f.type) else f.type for f in schema}
    table = csv.read_csv(
        io.BytesIO(buffer.getvalue()),
        convert_options=csv.ConvertOptions(
            column_types=types,
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    columns = [
        pc.cast(table[f.name], f.type) if pa.types.is_timestamp(f.type) else table[f.name]
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)
