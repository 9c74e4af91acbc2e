"""Bulk inserts at driver speed: binary COPY on PostgreSQL, DB-API executemany on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, Table

from fraud_core.store.rows import Columns, encode_features, kind_of

_PG_TYPES = {
    "str": "text",
    "float": "float8",
    "int": "int8",
    "bool": "bool",
    "time": "timestamptz",
    "features": "jsonb",
}


def insert(
    conn: Connection, table: Table, columns: Columns, conflict: tuple[str, ...] | None = None
) -> int:
    """Insert validated `columns` (see rows.validate) and return the number of rows written.

    With `conflict` (the columns of a unique key), rows whose key already exists, in the
    table or earlier in the batch, are skipped instead of failing the batch.
    """
    if not columns or not next(iter(columns.values())):
        return 0
    if conn.dialect.name == "postgresql":
        return _pg_insert(conn, table, columns, conflict)
    return _sqlite_insert(conn, table, columns, conflict)


def _rows(table: Table, columns: Columns, time_format: bool = False) -> Iterator[tuple]:
    """Row tuples; features are JSON-encoded lazily, so encoding overlaps the server's work."""
    values = []
    for name, column in columns.items():
        kind = kind_of(table.c[name])
        if kind == "features":
            column = map(encode_features, column)
        elif kind == "time" and time_format:
            # SQLAlchemy's SQLite DATETIME text, in UTC: 'YYYY-MM-DD HH:MM:SS.ffffff'.
            column = [v.isoformat(" ", "microseconds")[:26] for v in column]
        values.append(column)
    return zip(*values, strict=True)


def _names(conn: Connection, names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(conn.dialect.identifier_preparer.quote(n) for n in names)


def _sqlite_insert(
    conn: Connection, table: Table, columns: Columns, conflict: tuple[str, ...] | None
) -> int:
    sql = (
        f"INSERT INTO {table.name} ({_names(conn, list(columns))}) "
        f"VALUES ({', '.join('?' * len(columns))})"
    )
    if conflict:
        sql += f" ON CONFLICT ({_names(conn, conflict)}) DO NOTHING"
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.executemany(sql, _rows(table, columns, time_format=True))
        return cursor.rowcount
    finally:
        cursor.close()


def _as_is(text: str) -> str:
    return text


def _copy(conn: Connection, target: str, table: Table, columns: Columns) -> None:
    from psycopg.types.json import set_json_dumps

    cursor = conn.connection.driver_connection.cursor()
    set_json_dumps(_as_is, context=cursor)  # features arrive as JSON text
    types = [_PG_TYPES[kind_of(table.c[name])] for name in columns]
    sql = f"COPY {target} ({_names(conn, list(columns))}) FROM STDIN (FORMAT BINARY)"
    with cursor, cursor.copy(sql) as copy:
        copy.set_types(types)
        for row in _rows(table, columns):
            copy.write_row(row)


def _try_copy(conn: Connection, table: Table, columns: Columns) -> bool:
    """COPY into `table` inside a savepoint; False (nothing written) on a unique violation."""
    from psycopg.errors import UniqueViolation

    try:
        with conn.begin_nested():
            _copy(conn, table.name, table, columns)
        return True
    except UniqueViolation:
        return False


def _new_rows(conn: Connection, table: Table, columns: Columns, key: tuple[str, ...]) -> Columns:
    """`columns` without the rows whose key is stored or repeats an earlier row of the batch."""
    names = _names(conn, key)
    arrays = ", ".join(["%s::text[]"] * len(key))
    cursor = conn.connection.driver_connection.cursor()
    with cursor:
        cursor.execute(
            f"SELECT {names} FROM {table.name} JOIN unnest({arrays}) AS k({names}) USING ({names})",
            [columns[name] for name in key],
        )
        seen = set(cursor.fetchall())
    keep = []
    for index, row_key in enumerate(zip(*(columns[name] for name in key), strict=True)):
        if row_key not in seen:
            seen.add(row_key)
            keep.append(index)
    return {name: [values[i] for i in keep] for name, values in columns.items()}


def _pg_insert(
    conn: Connection, table: Table, columns: Columns, conflict: tuple[str, ...] | None
) -> int:
    """COPY straight into the table. If a key clashes, drop the rows already stored and COPY
    the rest; if a concurrent writer still wins a race, stage them and INSERT ... ON CONFLICT."""
    if conflict is None:
        _copy(conn, table.name, table, columns)
        return len(next(iter(columns.values())))
    if _try_copy(conn, table, columns):
        return len(next(iter(columns.values())))
    columns = _new_rows(conn, table, columns, conflict)
    rows = len(next(iter(columns.values())))
    if not rows or _try_copy(conn, table, columns):
        return rows
    staging = f"staging_{table.name}"
    names = _names(conn, list(columns))
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {staging} AS SELECT {names} FROM {table.name} WITH NO DATA"
    )
    _copy(conn, staging, table, columns)
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {staging} "
        f"ON CONFLICT ({_names(conn, conflict)}) DO NOTHING"
    )
    conn.exec_driver_sql(f"DROP TABLE {staging}")
    return result.rowcount
