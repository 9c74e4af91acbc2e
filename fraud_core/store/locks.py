"""Store-wide named locks that serialize work across processes (e.g. registry alias moves).

PostgreSQL: a session-level advisory lock on a dedicated connection; writes made while holding
it commit one by one. SQLite: a `BEGIN IMMEDIATE` transaction (the database's write lock);
writes made while holding it go through the same connection and commit when the lock is released.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine

from fraud_core.store.db import IMMEDIATE


def advisory_key_sql(name: str) -> str:
    """SQL of the advisory-lock key of `name` in the current schema (one lock per store)."""
    return f"hashtext('{name}:' || current_schema())"


class HeldLock:
    """A lock being held; `write()` is the transaction that writes made under it must use."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        if self.conn.in_transaction():  # SQLite: inside the locking transaction
            yield self.conn
            return
        with self.conn.begin():
            yield self.conn


@contextmanager
def hold(engine: Engine, name: str) -> Iterator[HeldLock]:
    """Hold the lock `name` (an identifier) until the block exits; waits for other holders."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"lock name must be an identifier, got {name!r}")
    if engine.dialect.name != "postgresql":
        conn = engine.connect().execution_options(**{IMMEDIATE: True})
        with conn, conn.begin():
            yield HeldLock(conn)
        return
    with engine.connect() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_lock({advisory_key_sql(name)})")
        conn.commit()
        try:
            yield HeldLock(conn)
        finally:
            conn.rollback()
            conn.exec_driver_sql(f"SELECT pg_advisory_unlock({advisory_key_sql(name)})")
            conn.commit()
