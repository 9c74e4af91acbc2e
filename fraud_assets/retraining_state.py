"""What the retraining triggers look at: the last training and the gate's last verdict, runs in
flight, run keys already used (the Dagster instance), labels reported since (the store), and a
release in progress (the registry)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import dagster as dg

from fraud_assets.provenance import latest_record
from fraud_assets.tables import plain_metadata

if TYPE_CHECKING:
    from fraud_assets.resources import FeedbackStoreResource, RegistryResource

RETRAINING_JOB = "retraining"
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def retraining_in_flight(instance: dg.DagsterInstance) -> str | None:
    """Id of a retraining run that is queued or running, if any."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(job_name=RETRAINING_JOB, statuses=IN_FLIGHT), limit=1
    )
    return runs[0].run_id if runs else None


def release_in_progress(registry: RegistryResource) -> str | None:
    """Why a new candidate must wait: a version in shadow or in canary, if any. A retraining
    now would replace the challenger and restart its shadow period (under lasting drift, a
    daily retraining would restart it every day and no release would ever finish)."""
    from fraud_core.registry import CANARY, CHALLENGER

    aliases = registry.open().aliases()
    if CANARY in aliases:
        return f"version {aliases[CANARY]} is in canary"
    if CHALLENGER in aliases:
        return f"version {aliases[CHALLENGER]} is in shadow"
    return None


def retraining_blocked(instance: dg.DagsterInstance, registry: RegistryResource) -> str | None:
    """Why no retraining may start now (one in flight, or a release in shadow or canary: one
    candidate at a time), or None."""
    in_flight = retraining_in_flight(instance)
    if in_flight:
        return f"retraining run {in_flight} is in flight"
    releasing = release_in_progress(registry)
    return f"{releasing}: one candidate at a time" if releasing else None


def run_key_used(instance: dg.DagsterInstance, run_key: str) -> bool:
    """Whether a run was already created for `run_key` (the daemon's dedupe, done by hand)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
    return bool(runs)


def last_training_as_of(instance: dg.DagsterInstance) -> datetime | None:
    """The label cut-off (`as_of`) of the latest training dataset, if any was built."""
    record = latest_record(instance, "training_dataset")
    if record is None or record.asset_materialization is None:
        return None
    value = record.asset_materialization.metadata.get("as_of")
    return None if value is None else datetime.fromisoformat(value.value)


def refused_without_new_labels(
    instance: dg.DagsterInstance,
    store: FeedbackStoreResource,
    champion: str,
    now: datetime,
    min_labels: int,
) -> str | None:
    """Why a retraining now would repeat the last refused one, or None: the gate's latest
    verdict refused a candidate against `champion`, and fewer than `min_labels` labels were
    reported since that candidate's label cut-off (the label-volume sensor's threshold)."""
    record = latest_record(instance, "validation_gate")
    if record is None or record.asset_materialization is None:
        return None
    gate = plain_metadata(record.asset_materialization.metadata)
    if gate.get("gate_passed", True) or str(gate.get("champion_version")) != champion:
        return None
    from fraud_core.store.label_queries import labels_reported

    since = last_training_as_of(instance)
    fresh, _ = labels_reported(store.open(), since, now)
    if fresh >= min_labels:
        return None
    cut_off = since.isoformat() if since else "the beginning"
    return (
        f"the gate refused v{gate.get('model_version')} against champion v{champion} "
        f"(run {record.run_id}) and {fresh} labels were reported since its cut-off "
        f"{cut_off} (< {min_labels})"
    )
