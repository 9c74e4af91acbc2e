"""Bulk load of predictions whose features are a float32 matrix: the JSON text of every row is
built by pyarrow in C and the batch goes to PostgreSQL as one `COPY ... (FORMAT CSV)` stream
(no Python object per feature value; the row-dict path costs ~90 µs a row)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Connection

from fraud_core.store.models import predictions
from fraud_core.store.rows import Columns, RowError, kind_of

if TYPE_CHECKING:
    import pyarrow as pa


def check_matrix(features: np.ndarray, names: Sequence[str], ids: Sequence[str]) -> None:
    """RowError naming the row and feature when `features` is not a finite (or NaN) matrix of
    one column per name and one row per id."""
    if features.ndim != 2 or features.shape != (len(ids), len(names)):
        raise RowError(
            f"predictions: features matrix has shape {features.shape}, expected "
            f"({len(ids)}, {len(names)}) (rows x feature names)"
        )
    bad = np.argwhere(np.isinf(features))
    if len(bad):
        row, column = bad[0]
        raise RowError(
            f"predictions row {row} (transaction_id {ids[row]!r}), column 'features': "
            f"feature {names[column]!r} is infinite"
        )


def features_json(features: np.ndarray, names: Sequence[str]) -> pa.Array:
    """One JSON object text per row (NaN as null), float32 values in shortest form."""
    import json

    import pyarrow as pa
    import pyarrow.compute as pc

    pieces: list = []
    for j, name in enumerate(names):
        values = pa.array(np.ascontiguousarray(features[:, j], dtype=np.float32))
        text = pc.if_else(pc.is_nan(values), "null", pc.cast(values, pa.string()))
        pieces += [("{" if j == 0 else ",") + json.dumps(name) + ":", text]
    return pc.binary_join_element_wise(*pieces, "}", "")


def copy_csv(conn: Connection, columns: Columns, features: pa.Array) -> int:
    """COPY validated `columns` (rows.validate, features left out) and the features' JSON text
    into `predictions` as one CSV stream; the number of rows."""
    import pyarrow as pa
    from pyarrow import csv

    types = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    arrays, names = [], []
    for name, values in columns.items():
        kind = kind_of(predictions.c[name])
        if kind == "features":
            arrays.append(features)
        elif kind == "time":
            arrays.append(pa.array(values, pa.timestamp("us", tz="UTC")))
        else:
            arrays.append(pa.array(values, types[kind]))
        names.append(name)
    buffer = io.BytesIO()
    csv.write_csv(
        pa.Table.from_arrays(arrays, names), buffer, csv.WriteOptions(include_header=False)
    )
    quote = conn.dialect.identifier_preparer.quote
    sql = f"COPY predictions ({', '.join(map(quote, names))}) FROM STDIN (FORMAT CSV)"
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(sql) as copy:
        copy.write(buffer.getbuffer())
    return len(features)
