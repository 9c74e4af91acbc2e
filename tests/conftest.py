"""Shared fixtures: databases for the feedback store on SQLite and PostgreSQL.

PostgreSQL comes from `FRAUD_TEST_PG_URL` (default postgresql://root@127.0.0.1:5432/test).
Each test session works in a fresh schema `test_<random>` (selected through the URL's
`options=-csearch_path=...`), dropped when the session ends. When the server is unreachable
the PostgreSQL tests are skipped with the reason, or fail when `FRAUD_REQUIRE_POSTGRES=1`.
Heavy imports stay inside fixtures so that collection stays fast.
"""

from __future__ import annotations

import os
import secrets
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_PG_URL = "postgresql://root@127.0.0.1:5432/test"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Every test (and the fixtures it sets up) starts processes that SIGTERM stops. Dagster's
    in-process execution leaves SIGTERM with SIGINT's handler (`dagster._utils.interrupts`), and
    where SIGINT is ignored (a suite started in the background by a non-interactive shell) that
    is SIG_IGN, which every process started later inherits: stops then waited for SIGKILL."""
    in_main = threading.current_thread() is threading.main_thread()
    if in_main and signal.getsignal(signal.SIGTERM) == signal.SIG_IGN:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def with_search_path(url: str, schema: str) -> str:
    """`url` with its sessions' search_path set to `schema`."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


def _libpq_url(url: str) -> str:
    """The URL as libpq takes it (no SQLAlchemy driver suffix such as +psycopg)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server URL; skips (or fails, with FRAUD_REQUIRE_POSTGRES=1) if it is down."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = os.environ.get("FRAUD_TEST_PG_URL", DEFAULT_PG_URL)
    try:
        psycopg.connect(_libpq_url(url), connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        detail = " ".join(str(exc).split())
        reason = f"PostgreSQL unreachable at {shown} (set FRAUD_TEST_PG_URL): {detail}"
        if os.environ.get("FRAUD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{reason}; FRAUD_REQUIRE_POSTGRES=1 makes this a failure")
        pytest.skip(reason)
    return url


@pytest.fixture(scope="session")
def pg_schema_factory(pg_server_url: str) -> Iterator:
    """Call it to get the URL of a new empty schema; every one is dropped at session end."""
    import psycopg

    created: list[str] = []

    def create() -> str:
        schema = f"test_{secrets.token_hex(6)}"
        with psycopg.connect(_libpq_url(pg_server_url), autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        created.append(schema)
        return with_search_path(pg_server_url, schema)

    yield create
    with psycopg.connect(_libpq_url(pg_server_url), autocommit=True) as conn:
        for schema in created:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture(scope="session")
def pg_url(pg_schema_factory) -> str:
    """PostgreSQL URL on this session's schema (shared by the session's tests)."""
    return pg_schema_factory()


@pytest.fixture(
    params=[
        pytest.param("sqlite"),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL per backend: a new SQLite file per test, or the session's PostgreSQL schema
    (shared: take `store`, which empties it, or leave it as you would like to find it)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fraud.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator:
    """An empty FeedbackStore on `db_url` (PostgreSQL tables are truncated before the test)."""
    from sqlalchemy import text

    from fraud_core.store import FeedbackStore
    from fraud_core.store.models import Base

    feedback_store = FeedbackStore(db_url)
    if feedback_store.engine.dialect.name == "postgresql":
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with feedback_store.engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield feedback_store
    feedback_store.close()


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the settings' local state (FRAUD_VAR_DIR: SQLite store, MLflow, reports, landing
    folders) at a temporary folder, so a test never touches the repository's var/."""
    folder = tmp_path / "var"
    monkeypatch.setenv("FRAUD_VAR_DIR", str(folder))
    for name in ("FRAUD_DB_URL", "MLFLOW_TRACKING_URI", "FRAUD_MLFLOW_ARTIFACTS"):
        monkeypatch.delenv(name, raising=False)
    return folder


pytest_plugins = ["tests.fixtures.mlflow_fixtures"]  # mlflow_uri, train_tiny_model, ...
