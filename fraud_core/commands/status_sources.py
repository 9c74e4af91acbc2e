"""What `fraudops status` reads, quickly and read-only: the feedback store and MLflow's
registry tables through the plain DB-API drivers (sqlite3 opened read-only, psycopg; no
MLflow or SQLAlchemy import, no migrations, no database created), and the last runs from the
Dagster webserver's GraphQL API."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

RUNS_QUERY = """query { runsOrError(limit: %d) { ... on Runs { results {
  runId jobName status startTime tags { key value } } } } }"""


class Missing(Exception):
    """A source that does not exist (the message says which and what to do)."""


class Database:
    """A read-only DB-API connection and its query method (named `:parameters`)."""

    def __init__(self, url: str, what: str) -> None:
        scheme = url.split(":", 1)[0]
        if scheme.startswith("sqlite"):
            path = unquote(url.split(":///", 1)[1]) if ":///" in url else ""
            if not path or path == ":memory:" or not Path(path).is_file():
                raise Missing(f"{what} {path or url} does not exist (start the platform: make run)")
            import sqlite3

            self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0)
            self.named = lambda sql: sql
        elif scheme.startswith("postgres"):
            import psycopg

            parts = urlsplit(url)
            libpq = parts._replace(scheme="postgresql").geturl()
            self.conn = psycopg.connect(libpq, connect_timeout=3, autocommit=True)
            self.named = lambda sql: re.sub(r":(\w+)", r"%(\1)s", sql)
        else:
            raise Missing(f"{what} {url}: status reads SQLite or PostgreSQL only")

    def rows(self, sql: str, **params: Any) -> list[tuple]:
        cursor = self.conn.cursor()
        cursor.execute(self.named(sql), params)
        return list(cursor.fetchall())

    def close(self) -> None:
        self.conn.close()


def registry_state(db: Database, model: str) -> dict[str, Any]:
    """Aliases, canary share and each aliased version's release stage, from MLflow's SQL
    registry tables (`registered_model_aliases`, `registered_model_tags`,
    `model_version_tags`)."""
    aliases = dict(
        db.rows("SELECT alias, version FROM registered_model_aliases WHERE name = :m", m=model)
    )
    tags = dict(db.rows("SELECT key, value FROM registered_model_tags WHERE name = :m", m=model))
    stages: dict[str, dict[str, str]] = {}
    for version in set(aliases.values()):
        rows = db.rows(
            "SELECT key, value FROM model_version_tags WHERE name = :m AND version = :v "
            "AND key IN ('release_stage', 'release_stage_started_at')",
            m=model,
            v=int(version),
        )
        stages[str(version)] = dict(rows)
    aliases = {alias: str(version) for alias, version in aliases.items()}
    return {"aliases": aliases, "tags": tags, "stages": stages}


def latest_metrics(db: Database, names: tuple[str, ...]) -> dict[str, Mapping[str, Any]]:
    """The champion's newest whole-traffic row per metric name."""
    found: dict[str, Mapping[str, Any]] = {}
    for name in names:
        rows = db.rows(
            "SELECT value, model_version, window_end, computed_at "
            "FROM monitoring_metrics WHERE metric = :n "
            "AND (segment IS NULL OR segment = 'all') "
            "AND (variant IS NULL OR variant = 'champion') "
            "ORDER BY computed_at DESC, id DESC LIMIT 1",
            n=name,
        )
        if rows:
            value, version, end, computed = rows[0]
            found[name] = {"value": value, "model_version": version, "window_end": end}
    return found


def drifted_features(db: Database) -> list[tuple[str, float]]:
    """Features of the newest drift report whose score reached 0.1 (the alert rule's bound)."""
    (newest,) = db.rows(
        "SELECT max(computed_at) FROM monitoring_metrics WHERE metric = 'feature_drift'"
    )[0]
    if newest is None:
        return []
    rows = db.rows(
        "SELECT feature, value FROM monitoring_metrics WHERE metric = 'feature_drift' "
        "AND computed_at = :t AND value >= 0.1 ORDER BY value DESC",
        t=newest,
    )
    return [(feature, float(value)) for feature, value in rows]


def last_runs(dagster_url: str, limit: int = 6) -> list[dict[str, Any]]:
    """The newest runs (job, status, trigger, reason) from the Dagster webserver."""
    import httpx

    reply = httpx.post(
        dagster_url.rstrip("/") + "/graphql", json={"query": RUNS_QUERY % limit}, timeout=3.0
    )
    reply.raise_for_status()
    runs = reply.json()["data"]["runsOrError"]["results"]
    for run in runs:
        run["tags"] = {t["key"]: t["value"] for t in run["tags"]}
    return runs


def default_urls() -> tuple[str, str]:
    """The store and registry URLs of `fraud_core.settings`, without creating folders."""
    from fraud_core.settings import get_settings

    settings = get_settings()
    return settings.db_url, settings.mlflow_tracking_uri
