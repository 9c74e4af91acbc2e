"""The audit log's hash chain (both backends) and the PostgreSQL application role's grants."""

from __future__ import annotations

import secrets
import subprocess
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from fraud_core.cli import main
from fraud_core.store import FeedbackStore
from fraud_core.store.db import alembic_config, make_engine

GRANTS = Path(__file__).parents[2] / "deploy" / "postgres" / "grants.sql"


def _verify(db_url: str):
    return CliRunner().invoke(main, ["audit", "verify", "--db-url", db_url])


def _tamper(store: FeedbackStore, statement: str) -> None:
    """Rewrite the log as someone with the owner's rights would (triggers lifted)."""
    with store.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        else:
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_update")
            conn.exec_driver_sql("DROP TRIGGER audit_log_no_delete")
        conn.exec_driver_sql(statement)


def test_concurrent_appends_form_one_chain_and_edits_are_found(db_url, store):
    def append(worker: int) -> None:
        with FeedbackStore(db_url) as own:
            for n in range(10):
                own.append_audit(f"w{worker}", "release.stage", "m/1", "r", {"n": n, "x": 1e16})

    threads = [threading.Thread(target=append, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    report = store.verify_audit_chain()
    assert report.intact and report.checked == 30
    ok = _verify(db_url)
    assert ok.exit_code == 0 and f"30 entries, head {report.head}" in ok.output

    entries = sorted(store.audit_entries(limit=100), key=lambda e: e["id"])
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)  # stamped in order
    ids = [e["id"] for e in entries]
    _tamper(store, f"UPDATE audit_log SET reason = 'rewritten' WHERE id = {ids[11]}")
    broken = _verify(db_url)
    assert broken.exit_code == 1
    assert f"broken at entry {ids[11]} (release.stage by w" in broken.output
    assert "11 entries before it are intact" in broken.output
    assert "Traceback" not in broken.output


def test_a_deleted_entry_breaks_the_next_link(db_url, store):
    ids = [store.append_audit("ci", "promote", f"m/{n}", "r", {}) for n in range(4)]
    _tamper(store, f"DELETE FROM audit_log WHERE id = {ids[1]}")
    report = store.verify_audit_chain()
    assert (report.broken_id, report.checked) == (ids[2], 1)


def test_migration_chains_entries_written_before_it(db_url, request):
    if db_url.startswith("postgresql"):
        db_url = request.getfixturevalue("pg_schema_factory")()
    from alembic import command

    config = alembic_config()
    with make_engine(db_url).begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        for n in range(3):
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (at, actor, action, subject, reason, details)"
                    " VALUES (:at, 'ops', 'promote', 'm/1', 'old entry', :details)"
                ),
                {"at": f"2026-01-0{n + 1} 10:00:00", "details": f'{{"fpr": 0.0{n}5}}'},
            )
    with FeedbackStore(db_url) as store:  # upgrades to head, hashing the old entries
        store.append_audit("ops", "promote", "m/2", "new entry", {})
        assert store.verify_audit_chain().checked == 4
        assert store.verify_audit_chain().intact


@pytest.mark.postgres
def test_application_role_can_only_append_to_the_audit_log(pg_schema_factory):
    import psycopg

    owner_url = pg_schema_factory()
    FeedbackStore(owner_url).close()  # migrated by the owner
    role = f"fraud_app_{secrets.token_hex(4)}"
    owner = sa.engine.make_url(owner_url)
    libpq = owner.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
    try:
        subprocess.run(
            ["psql", libpq, "-q", "-v", f"app_role={role}", "-f", str(GRANTS)],
            check=True,
            capture_output=True,
            text=True,
        )
        app_url = owner.set(username=role).render_as_string(hide_password=False)
        with FeedbackStore(app_url) as app:
            first = app.append_audit("app", "promote", "m/1", "r", {"fpr": 0.01})
            app.append_audit("app", "promote", "m/2", "r", {})
            assert app.verify_audit_chain().checked == 2
            for statement in (
                "UPDATE audit_log SET reason = 'x'",
                f"DELETE FROM audit_log WHERE id = {first}",
                "TRUNCATE audit_log",
                "UPDATE alembic_version SET version_num = '0001'",
            ):
                denied = pytest.raises(sa.exc.ProgrammingError, match="permission denied")
                with denied, app.engine.begin() as conn:
                    conn.exec_driver_sql(statement)
            assert app.verify_audit_chain().intact
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
