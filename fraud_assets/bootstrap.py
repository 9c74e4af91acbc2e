"""`fraudops bootstrap`: seed an empty store with a simulated pre-drift history, then train and
promote the first champion through the retraining job. Idempotent: each step is skipped when
its result exists (predictions in the store; a `champion` alias in the registry)."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fraud_assets.quiet import log_dir, to_log

if TYPE_CHECKING:
    from fraud_core.registry import ModelRegistry

TRIGGER = "bootstrap"
MONITORING_ASSETS = (
    "reference_profile",
    "drift_report",
    "model_performance",
    "performance_estimate",
)


class BootstrapError(RuntimeError):
    """The platform could not be brought up (the reason is the message)."""


def seed_pre_drift_history(db_url: str, days: int, tx_per_day: int, seed: int) -> None:
    """`fraudops seed` of `days` days ending yesterday, with the drift starting today."""
    from fraud_core.commands.seed import seed as seed_command

    today = datetime.now(UTC).date().isoformat()
    args = ["--days", str(days), "--tx-per-day", str(tx_per_day), "--seed", str(seed),
            "--drift-start", today, "--db-url", db_url]  # fmt: skip
    seed_command.main(args=args, standalone_mode=False)


def train_first_champion(registry: ModelRegistry) -> str:
    """Run the `retraining` job on the instance of DAGSTER_HOME (with no champion yet, a
    candidate that passes the gate is promoted directly); the new champion's version."""
    import dagster as dg

    from fraud_assets.definitions import defs
    from fraud_assets.provenance import REASON_TAG, TRIGGER_TAG, latest_metadata
    from fraud_core.registry import CHAMPION

    with dg.DagsterInstance.get() as instance:
        job = defs().resolve_job_def("retraining")
        result = job.execute_in_process(
            instance=instance,
            tags={TRIGGER_TAG: TRIGGER, REASON_TAG: "first champion of an empty platform"},
            raise_on_error=False,
        )
        champion = registry.version_for(CHAMPION)
        if result.success and champion is not None:
            return champion.version
        failure = next((e for e in result.all_events if e.is_step_failure), None)
        detail = failure.step_failure_data.error.message.strip() if failure else "no step failed"
        if any(not c.passed for c in result.get_asset_check_evaluations()):
            detail = latest_metadata(instance, "validation_gate")["gate_result"]
        raise BootstrapError(f"retraining run {result.run_id} did not promote a model: {detail}")


def needs_monitoring() -> bool:
    """Whether a monitoring asset was never materialized on the instance of DAGSTER_HOME."""
    import dagster as dg

    from fraud_assets.provenance import latest_record

    with dg.DagsterInstance.get() as instance:
        return any(latest_record(instance, a) is None for a in MONITORING_ASSETS)


def first_monitoring() -> str:
    """Run the `monitoring` job once (so status and the scorer's gauges show figures from the
    start, not "no data"); a one-line summary of what it found."""
    import dagster as dg

    from fraud_assets.definitions import defs
    from fraud_assets.provenance import REASON_TAG, TRIGGER_TAG, latest_metadata

    with dg.DagsterInstance.get() as instance:
        result = (
            defs()
            .resolve_job_def("monitoring")
            .execute_in_process(
                instance=instance,
                tags={TRIGGER_TAG: TRIGGER, REASON_TAG: "first figures of a new platform"},
                raise_on_error=False,
            )
        )
        if not result.success:
            failure = next((e for e in result.all_events if e.is_step_failure), None)
            detail = failure.step_failure_data.error.message.strip() if failure else "failed"
            raise BootstrapError(f"monitoring run {result.run_id}: {detail}")
        drift = latest_metadata(instance, "drift_report")
    return f"monitoring run {result.run_id[:8]}: {drift.get('reason', 'done')}"


def bootstrap(
    *, days: int = 150, tx_per_day: int = 3000, seed: int = 0, echo: Callable[[str], None] = print
) -> str:
    """Bring the platform up; returns the champion's version."""
    from fraud_core.registry import CHAMPION, ModelRegistry
    from fraud_core.settings import get_settings
    from fraud_core.store import FeedbackStore

    os.environ.setdefault("DAGSTER_HOME", str(Path("dagster_home").resolve()))
    settings = get_settings()
    settings.ensure_dirs()
    with FeedbackStore(settings.db_url) as store:
        if store.count_predictions() == 0:
            echo(f"bootstrap: seeding {days} days of simulated pre-drift history ...")
            seed_pre_drift_history(settings.db_url, days, tx_per_day, seed)
        else:
            echo(f"bootstrap: store holds {store.count_predictions():,} predictions: not seeding")
        log = log_dir() / "bootstrap.log"
        echo(f"bootstrap: full logs in {log}")
        with to_log(log):  # MLflow's migrations and INFO lines
            registry = ModelRegistry(settings.mlflow_tracking_uri, store, settings.model_name)
            champion = registry.version_for(CHAMPION)
        if champion is not None:
            version = champion.version
            echo(f"bootstrap: champion is version {version}: nothing to train")
        else:
            echo("bootstrap: no champion: running the retraining job (train, gate, promote) ...")
            with to_log(log):
                version = train_first_champion(registry)
            echo(f"bootstrap: version {version} promoted to champion")
        if needs_monitoring():
            echo("bootstrap: first monitoring run (reference, drift, performance, estimate) ...")
            with to_log(log):
                summary = first_monitoring()
            echo(f"bootstrap: {summary}")
        return version
