"""A materialization on a Dagster instance stored in PostgreSQL (deploy/dagster/dagster.yaml,
dagster-postgres over psycopg2) in a fresh database."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.dagster_platform import Platform, materialize, platform, seed_log

__all__ = ["platform"]  # the fixture, imported for pytest


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def postgres_dagster_home(
    pg_server_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """DAGSTER_HOME with the production dagster.yaml, pointed at a new, empty database."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(pg_server_url)
    libpq = server.set(drivername="postgresql").render_as_string(hide_password=False)
    database = f"dagster_test_{secrets.token_hex(4)}"
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster" / "dagster.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": server.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(server.port or 5432),
        "DAGSTER_PG_USER": server.username or "root",
        "DAGSTER_PG_PASSWORD": server.password or "",
        "DAGSTER_PG_DB": database,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield home
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_materialization_on_a_postgres_backed_instance(
    postgres_dagster_home: Path, platform: Platform
) -> None:
    import dagster as dg

    seed_log(platform.store, days=5, per_day=100)
    with dg.DagsterInstance.from_config(str(postgres_dagster_home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        platform.instance = instance
        result = materialize(platform, ["raw_predictions"], partition_key="2026-05-30")
        assert result.success
        event = instance.get_latest_materialization_event(dg.AssetKey("raw_predictions"))
        assert event.run_id == result.run_id
        assert event.asset_materialization.partition == "2026-05-30"
        assert event.asset_materialization.metadata["dagster/row_count"].value > 50
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
