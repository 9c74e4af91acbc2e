"""The replay instance's SQLite run and event log storages, each on one engine kept open.

Dagster's SQLite storages build an engine with `NullPool` for every connection: each event
written, each run-status change and each sensor's instance query opens the database file,
commits (an fsync), and closes it; and closing the last connection of a database in WAL mode
checkpoints the write-ahead log into the file and deletes it (more fsyncs). That layout is for
several processes sharing one `DAGSTER_HOME` (`dagster dev`: webserver, daemon, run workers),
where an open connection would hold the file. The replay executes every run and every sensor
tick in its own single process, one at a time; there the open/checkpoint/close per statement was
about 40 % of a run's fixed cost (28 s of the 48 s the jobs spent outside asset code in a
20-day replay at 5,000 payments a day).

These subclasses keep one engine (a connection pool) per storage and open its connections in
WAL mode with `synchronous=NORMAL` (a commit reaches the write-ahead log without an fsync; a
power cut can lose the last commits, never corrupt the file: a replay that dies is rerun from
scratch anyway). The tables, the queries and what they return are Dagster's own, and the files
are ordinary Dagster SQLite storage: `dagster dev` on the replay's `DAGSTER_HOME` reads them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import Connection, Engine, create_engine, event


def kept_engine(conn_string: str) -> Engine:
    """A pooled engine on a SQLite file whose connections use WAL and `synchronous=NORMAL`."""
    engine = create_engine(conn_string, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class _KeptEngine:
    """Connections from one engine kept for the storage's life (`_conn_string` is Dagster's)."""

    _conn_string: str
    _kept: Engine | None = None

    @contextmanager
    def _kept_connection(self) -> Iterator[Connection]:
        if self._kept is None:
            self._kept = kept_engine(self._conn_string)
        with self._kept.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        if self._kept is not None:
            self._kept.dispose()
            self._kept = None
        super().dispose()  # type: ignore[misc]  # the Dagster storage's, next in the MRO


class ReplayRunStorage(_KeptEngine, SqliteRunStorage):
    """`SqliteRunStorage` whose connections come from one kept engine."""

    @classmethod
    def from_config_value(  # the parent's names its own class
        cls, inst_data: Any, config_value: Mapping[str, Any]
    ) -> ReplayRunStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    def connect(self) -> Any:
        return self._kept_connection()


class ReplayEventLogStorage(_KeptEngine, ConsolidatedSqliteEventLogStorage):
    """`ConsolidatedSqliteEventLogStorage` whose connections come from one kept engine."""

    def _connect(self) -> Any:
        return self._kept_connection()
