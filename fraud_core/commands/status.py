"""`fraudops status`: who serves, what is being released, the latest FPR and drift, the firing
alert conditions, and the last Dagster runs with their triggers. Read-only and quick (no
MLflow import, nothing created): a missing database is named instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import click

from fraud_core.fpr_lines import FPR_CRITICAL, FPR_WARNING

METRICS = (("FPR", "fpr"), ("FPR est.", "fpr_estimate"), ("drift", "drifted_share"))


@click.command()
@click.option("--db-url", default=None, help="Feedback store (default: FRAUD_DB_URL).")
@click.option("--tracking-uri", default=None, help="MLflow registry (MLFLOW_TRACKING_URI).")
@click.option("--dagster-url", default="http://127.0.0.1:3000", show_default=True,
              help="Dagster webserver, for the last runs.")  # fmt: skip
def status(db_url: str | None, tracking_uri: str | None, dagster_url: str) -> None:
    """The aliases' versions (the challenger is the one in shadow), canary share and release
    stage, the latest FPR and drift figures of monitoring, firing alert conditions, and the
    last runs."""
    from fraud_core.commands.status_sources import Database, Missing, default_urls

    default_store, default_registry = default_urls()
    problems = []
    try:
        releasing = _registry(Database(tracking_uri or default_registry, "MLflow registry"))
    except Missing as missing:
        problems.append(str(missing))
        releasing = False
    if releasing:  # the release's test in words needs the registry facade (MLflow: slower)
        _release(db_url, tracking_uri)
    try:
        _monitoring(Database(db_url or default_store, "feedback store"))
    except Missing as missing:
        problems.append(str(missing))
    _runs(dagster_url)
    for problem in problems:
        click.echo(f"missing   {problem}")


def _registry(db) -> bool:
    """Prints who serves; whether a release is in progress."""
    from fraud_core.commands.status_sources import registry_state
    from fraud_core.registry.names import ALIASES, CANARY_TAG
    from fraud_core.release import SHADOW, STABLE, STAGE_STARTED_TAG, canary_stage
    from fraud_core.settings import get_settings

    try:
        state = registry_state(db, get_settings().model_name)
    except Exception as error:  # noqa: BLE001 (any driver's error, on one line)
        click.echo(f"registry  unreadable: {_first_line(error)}")
        return False
    finally:
        db.close()
    aliases = state["aliases"]
    releasing = "canary" in aliases or "challenger" in aliases
    if not releasing:
        click.echo("release   no release in progress")
    for alias in ALIASES:
        click.echo(f"{alias:<9} {aliases.get(alias, '-')}")
    percent = state["tags"].get(CANARY_TAG, "0") if "canary" in aliases else "0"
    click.echo(f"traffic   {percent}% to the canary")
    stage = STABLE
    if "canary" in aliases and percent != "0":
        stage = canary_stage(int(percent))
    elif "challenger" in aliases:
        stage = SHADOW
    candidate = aliases.get("canary") or aliases.get("challenger")
    since = state["stages"].get(candidate, {}).get(STAGE_STARTED_TAG) if candidate else None
    click.echo(f"stage     {stage}" + (f" (since {since})" if since else ""))
    return releasing


def _release(db_url: str | None, tracking_uri: str | None) -> None:
    from fraud_core.commands.release_options import open_registry
    from fraud_core.release_data import describe_release

    with open_registry(db_url, tracking_uri) as registry:
        click.echo(f"release   {describe_release(registry)}")


def _monitoring(db) -> None:
    from fraud_core.commands.status_sources import drifted_features, latest_metrics

    try:
        metrics = latest_metrics(db, tuple(m for _, m in METRICS) + ("drift_detected",))
        drifted = drifted_features(db)
    except Exception as error:  # noqa: BLE001 (any driver's error, on one line)
        click.echo(f"store     unreadable: {_first_line(error)}")
        return
    finally:
        db.close()
    for label, name in METRICS:
        click.echo(f"{label:<9} {_figure(metrics.get(name))}")
    alerts = _alerts(metrics, drifted)
    click.echo("alerts    " + ("; ".join(alerts) if alerts else "none firing"))


def _alerts(metrics: dict[str, Any], drifted: list[tuple[str, float]]) -> list[str]:
    """The alert rules' conditions on the latest figures (deploy/prometheus/alerts.yml)."""
    alerts = []
    for label, name in (("FPR", "fpr"), ("FPR estimate", "fpr_estimate")):
        value = (metrics.get(name) or {}).get("value")
        if value is not None and value > FPR_CRITICAL:
            alerts.append(f"CRITICAL {label} {value:.1%} > {FPR_CRITICAL:.0%}")
        elif value is not None and value > FPR_WARNING:
            alerts.append(f"WARNING {label} {value:.1%} > {FPR_WARNING:.0%}")
    if drifted:
        top = ", ".join(f"{f} {v:.2f}" for f, v in drifted[:4])
        alerts.append(f"DRIFT {len(drifted)} features >= 0.1 ({top})")
    elif (metrics.get("drift_detected") or {}).get("value"):
        alerts.append("DRIFT detected by the latest drift report")
    return alerts


def _runs(dagster_url: str) -> None:
    import httpx

    from fraud_core.commands.status_sources import last_runs

    try:
        runs = last_runs(dagster_url)
    except (httpx.HTTPError, KeyError, ValueError) as error:
        click.echo(
            f"runs      unknown: Dagster at {dagster_url} unreachable ({_first_line(error)})"
        )
        return
    click.echo("runs      " + ("" if runs else "none yet"))
    for run in runs:
        tags = run["tags"]
        trigger = tags.get("fraud/trigger") or (
            f"sensor:{tags['dagster/sensor_name']}" if "dagster/sensor_name" in tags
            else f"schedule:{tags['dagster/schedule_name']}" if "dagster/schedule_name" in tags
            else "manual"
        )  # fmt: skip
        started = run.get("startTime")
        when = datetime.fromtimestamp(started).strftime("%m-%d %H:%M:%S") if started else "queued"
        reason = tags.get("fraud/reason", "")
        click.echo(
            f"  {when}  {run['jobName']:<13} {run['status'].lower():<8} {trigger}"
            + (f": {reason[:90]}" if reason else "")
        )


def _figure(row: dict[str, Any] | None) -> str:
    if row is None:
        return "no data"
    model = str(row.get("model_version") or "")
    version = f"{'v' if model.isdigit() else ''}{model}, " if model else ""  # v2, rule-v1
    end = row["window_end"]
    end = end if isinstance(end, str) else end.strftime("%Y-%m-%d %H:%M")
    return f"{row['value']:.4f} ({version}window to {str(end)[:16]})"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__
