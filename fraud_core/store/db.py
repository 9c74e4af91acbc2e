"""Engines for the store, and schema upgrades that are safe when processes open at once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from fraud_core.settings import normalize_db_url

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30.0
IMMEDIATE = "sqlite_begin_immediate"  # execution option: take SQLite's write lock at BEGIN


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and real (savepoint-able) transactions."""
    url = normalize_db_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Leave transaction control to SQLAlchemy (pysqlite's own BEGIN handling skips DDL).
        dbapi_connection.isolation_level = None
        _wal(dbapi_connection)
        for pragma in ("synchronous=NORMAL", "foreign_keys=ON"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _wal(dbapi_connection: Any) -> None:
    """WAL mode, waiting up to the busy timeout for the lock: a new file's switch to WAL takes
    an exclusive lock without SQLite's busy handler, so processes opening a new store at once
    failed now and then with 'database is locked' (2 in 60 trials of three under load)."""
    import sqlite3

    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


SQLITE_ONLY_INDEXES = ("ix_prediction_ids_prediction_id",)
"""Created by the migrations on SQLite only (PostgreSQL draws ids from a sequence)."""


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic autogenerate filter: the day partitions of `predictions` (and their indexes)
    and the SQLite-only indexes are not objects of the models."""
    partition = name is not None and name.startswith(("predictions_p", "predictions_default"))
    return not (type_ in ("table", "index") and partition or name in SQLITE_ONLY_INDEXES)


def alembic_config() -> Config:
    """Alembic configuration pointing at the migrations shipped inside this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """`alembic upgrade head`, serialised across processes; a no-op when already at head."""
    config = alembic_config()
    head = ScriptDirectory.from_config(config).get_current_head()
    with engine.connect() as conn:
        if MigrationContext.configure(conn).get_current_revision() == head:
            return
    with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext('fraud-store-migrate:' || current_schema()))"
            )
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
