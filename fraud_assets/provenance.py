"""Who/what/why of a run, and reading back what an asset recorded for people (its metadata)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from fraud_assets.tables import plain_metadata

TRIGGER_TAG = "fraud/trigger"
REASON_TAG = "fraud/reason"
RETRAIN_TAG = ("retrain", "fraud")  # limited to one concurrent run in dagster.yaml


def trigger_of(tags: Mapping[str, str]) -> str:
    """`sensor:<name>`, `schedule:<name>`, an explicit `fraud/trigger` tag, or `manual`."""
    if tags.get(TRIGGER_TAG):
        return tags[TRIGGER_TAG]
    if tags.get("dagster/sensor_name"):
        return f"sensor:{tags['dagster/sensor_name']}"
    if tags.get("dagster/schedule_name"):
        return f"schedule:{tags['dagster/schedule_name']}"
    return "manual"


def provenance(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> dict:
    """Trigger, reason and run id of the current run, as materialization metadata."""
    tags = context.run.tags
    return {
        "trigger": trigger_of(tags),
        "reason": tags.get(REASON_TAG, "requested by an operator"),
        "dagster_run_id": context.run.run_id,
    }


def actor(context: dg.AssetExecutionContext) -> str:
    """The audit-log actor for alias moves made by this run."""
    return f"dagster:{trigger_of(context.run.tags)}"


def latest_record(instance: dg.DagsterInstance, asset: str) -> dg.EventLogRecord | None:
    """`asset`'s latest materialization record, if any (one indexed query: a third of
    `get_latest_materialization_event`'s time on a long SQLite event log)."""
    records = instance.fetch_materializations(dg.AssetKey(asset), limit=1).records
    return records[0] if records else None


def latest_metadata(instance: dg.DagsterInstance, asset: str) -> dict[str, Any]:
    """Plain values of the metadata of `asset`'s latest materialization (Failure if none), for
    a console or a report; assets take upstream values as parameters (fraud_assets/handoffs.py)."""
    record = latest_record(instance, asset)
    if record is None or record.asset_materialization is None:
        raise dg.Failure(f"{asset} has never been materialized: materialize it first")
    values = plain_metadata(record.asset_materialization.metadata)
    values["__run_id__"] = record.run_id
    return values


def mlflow_run_url(experiment_id: str, run_id: str) -> str:
    """Link to an MLflow run in the MLflow UI (`FRAUD_MLFLOW_UI_URL`, default port 5000)."""
    from fraud_core.settings import get_settings

    base = get_settings().mlflow_ui_url.rstrip("/")
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"
