"""The feedback store's application role is wired into deploy/: compose and Kubernetes migrate
as the owner, then run postgres/app-role.sql and postgres/grants.sql, and the project code
connects as the application role. The compose one-shot's own psql command is run against the
real PostgreSQL, and the role it leaves can append to audit_log but not change it."""

from __future__ import annotations

import secrets
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SQL = DEPLOY / "postgres"
APP_ROLE = "fraud_app"
PROJECT_SERVICES = ("scorer", "dagster-webserver", "dagster-daemon")


def compose_services() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]


def k8s_objects(name: str) -> dict[str, dict]:
    return {d["kind"]: d for d in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text())}


def test_compose_project_code_connects_as_the_application_role():
    services = compose_services()
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    for name in PROJECT_SERVICES:
        url = services[name]["environment"]["FRAUD_DB_URL"]
        assert url.startswith(f"postgresql://{APP_ROLE}:") and owner != APP_ROLE, name
        assert services[name]["depends_on"]["store-grants"] == {
            "condition": "service_completed_successfully"
        }, name
    assert services["store-grants"]["depends_on"]["store-migrate"] == {
        "condition": "service_completed_successfully"
    }
    migrate_url = services["store-migrate"]["environment"]["OWNER_URL"]
    assert migrate_url.startswith(f"postgresql://{owner}:")


def test_compose_grants_run_the_committed_sql():
    grants = compose_services()["store-grants"]
    assert "./postgres:/sql:ro" in grants["volumes"]
    command = grants["command"]
    files = [command[i + 1] for i, arg in enumerate(command) if arg == "-f"]
    assert files == ["/sql/app-role.sql", "/sql/grants.sql"]
    assert f"app_role={APP_ROLE}" in command


def test_kubernetes_job_runs_the_same_sql_as_the_files():
    objects = k8s_objects("store-roles.yaml")
    config_map, job = objects["ConfigMap"], objects["Job"]
    assert config_map["data"] == {
        "app-role.sql": (SQL / "app-role.sql").read_text(),
        "grants.sql": (SQL / "grants.sql").read_text(),
    }
    pod = job["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    assert "FeedbackStore" in " ".join(migrate["command"])
    (grants,) = pod["containers"]
    assert grants["command"][-4:] == ["-f", "/sql/app-role.sql", "-f", "/sql/grants.sql"]
    assert f"app_role={APP_ROLE}" in grants["command"]
    (volume,) = [v for v in pod["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == config_map["metadata"]["name"]
    owner_refs = {
        (e["name"], e["valueFrom"]["secretKeyRef"]["name"])
        for c in (migrate, grants)
        for e in c["env"]
        if "valueFrom" in e
    }
    assert ("OWNER_URL", "fraud-store-owner") in owner_refs


@pytest.mark.postgres
def test_the_compose_grants_command_leaves_an_append_only_role(pg_schema_factory, tmp_path):
    from fraud_core.store import FeedbackStore

    psql = shutil.which("psql")
    if psql is None:
        pytest.skip("psql not installed")
    owner_url = pg_schema_factory()
    FeedbackStore(owner_url).close()  # store-migrate, as the owner
    role = f"{APP_ROLE}_{secrets.token_hex(4)}"
    owner = sa.engine.make_url(owner_url)
    libpq = owner.set(drivername="postgresql").render_as_string(hide_password=False)
    command = [
        {
            "postgresql://fraud@postgres:5432/fraud": libpq,
            f"app_role={APP_ROLE}": f"app_role={role}",
        }.get(arg, arg.replace("/sql/", f"{SQL}/"))
        for arg in compose_services()["store-grants"]["command"]
    ]
    try:
        for _ in range(2):  # idempotent: every `up` runs it again
            subprocess.run([psql, *command[1:]], check=True, capture_output=True, text=True)
        app_url = owner.set(username=role).render_as_string(hide_password=False)
        with FeedbackStore(app_url) as app:  # at head already: the role migrates nothing
            entry = app.append_audit("deploy-test", "promote", "m/1", "r", {})
            assert app.verify_audit_chain().intact
            for statement in (
                "UPDATE audit_log SET reason = 'x'",
                f"DELETE FROM audit_log WHERE id = {entry}",
                "TRUNCATE audit_log",
            ):
                denied = pytest.raises(sa.exc.ProgrammingError, match="permission denied")
                with denied, app.engine.begin() as conn:
                    conn.exec_driver_sql(statement)
            is_superuser = "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            with app.engine.connect() as conn:
                assert conn.exec_driver_sql(is_superuser).scalar() is False
    finally:
        import psycopg

        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")
