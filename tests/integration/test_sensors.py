"""Sensors and schedules of the code location, evaluated with build_sensor_context; the
definitions themselves (validate, conventions, lazy imports, instance configs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.dagster_platform import Platform, platform, seed_log

__all__ = ["platform"]  # the fixture, imported for pytest


ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "mlflow",
    "xgboost",
    "sklearn",
    "evidently",
    "bentoml",
    "dagster_mlflow",
    "pandas",
    "numpy",
)


def _tick(platform: Platform, cursor: str | None = None):
    import dagster as dg

    sensor = platform.defs.resolve_sensor_def("label_volume_sensor")
    with dg.build_sensor_context(
        instance=platform.instance,
        cursor=cursor,
        definitions=platform.defs,
        # replaces the definitions' resources: pass every one the sensor needs
        resources={k: platform.resources()[k] for k in sensor.required_resource_keys},
    ) as context:
        return sensor.evaluate_tick(context)


def _add_run(platform: Platform, status, **tags: str) -> str:
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._core.utils import make_new_run_id

    run = DagsterRun(job_name="retraining", run_id=make_new_run_id(), status=status, tags=tags)
    platform.instance.add_run(run)
    return run.run_id


@pytest.fixture
def labelled(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    seed_log(platform.store, days=30, per_day=200)
    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", "50")
    return platform


def test_label_volume_sensor_fires_once_for_the_same_state(labelled: Platform) -> None:
    import dagster as dg

    first = _tick(labelled)
    (request,) = first.run_requests
    assert request.run_key.startswith("label_volume:the beginning:")
    assert request.tags["fraud/trigger"] == "sensor:label_volume_sensor"
    assert "new labels since the beginning" in request.tags["fraud/reason"]
    assert request.run_config == {
        "resources": {"clock": {"config": {"now": "2026-06-01T00:00:00+00:00"}}}
    }

    again = _tick(labelled, cursor=first.cursor)
    assert not again.run_requests and again.skip_message.startswith("0 new labels since")

    _add_run(labelled, dg.DagsterRunStatus.SUCCESS, **{"dagster/run_key": request.run_key})
    replay = _tick(labelled)  # lost cursor, same state: the run key is already used
    assert not replay.run_requests and "already exists" in replay.skip_message
    assert json.loads(replay.cursor) == json.loads(first.cursor)


def test_label_volume_sensor_waits_for_enough_labels_and_for_running_retraining(
    labelled: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    import dagster as dg

    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", "1000000")
    quiet = _tick(labelled)
    assert not quiet.run_requests and "(< 1000000)" in quiet.skip_message

    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", "50")
    running = _add_run(labelled, dg.DagsterRunStatus.STARTED)
    busy = _tick(labelled)
    assert not busy.run_requests and running in busy.skip_message
    weekly = labelled.defs.resolve_schedule_def("weekly_retraining")
    with dg.build_schedule_context(
        instance=labelled.instance,
        resources={"registry": labelled.resources()["registry"]},
        scheduled_execution_time=datetime(2026, 6, 1, 2, tzinfo=UTC),
    ) as context:
        skipped = weekly.evaluate_tick(context)
    assert not skipped.run_requests and running in skipped.skip_message


def test_label_volume_sensor_counts_from_the_last_training(labelled: Platform) -> None:
    import dagster as dg

    labelled.instance.report_runless_asset_event(
        dg.AssetMaterialization("training_dataset", metadata={"as_of": "2026-05-25T00:00:00+00:00"})
    )
    tick = _tick(labelled)
    events = labelled.store.label_events()
    recent = events[events["reported_at"] > "2026-05-25T00:00:00+00:00"]
    recent = recent[recent["reported_at"] <= "2026-06-01T00:00:00+00:00"]
    if len(recent) >= 50:
        (request,) = tick.run_requests
        assert f"{len(recent)} new labels since 2026-05-25" in request.tags["fraud/reason"]
    else:
        assert f"{len(recent)} new labels since 2026-05-25" in tick.skip_message


def _drift_tick(platform: Platform):
    import dagster as dg

    sensor = platform.defs.resolve_sensor_def("drift_sensor")
    with dg.build_sensor_context(
        instance=platform.instance,
        definitions=platform.defs,
        resources={k: platform.resources()[k] for k in sensor.required_resource_keys},
    ) as context:
        return sensor.evaluate_tick(context)


def test_drift_after_a_refused_gate_waits_for_new_labels(
    labelled: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dagster as dg

    cut_off = "2026-05-25T00:00:00+00:00"
    events = labelled.store.label_events()
    fresh = int(((events["reported_at"] > cut_off) & (events["reported_at"] <= "2026-06-01")).sum())
    assert fresh > 0
    report = labelled.instance.report_runless_asset_event
    report(dg.AssetMaterialization("training_dataset", metadata={"as_of": cut_off}))
    gate = {"gate_passed": False, "model_version": "4", "champion_version": "3"}
    report(dg.AssetMaterialization("validation_gate", metadata=gate))

    def drifted(version: str) -> None:
        meta = {"drift_detected": True, "model_version": version, "reason": "4/15 drifted"}
        report(dg.AssetMaterialization("drift_report", metadata={**meta, "computed_at": cut_off}))

    drifted("3")
    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", str(fresh + 1))
    waiting = _drift_tick(labelled)
    assert not waiting.run_requests
    assert "the gate refused v4 against champion v3" in waiting.skip_message
    assert f"{fresh} labels were reported since its cut-off {cut_off} (< {fresh + 1})" in (
        waiting.skip_message
    )

    drifted("5")  # a new champion: its drift is news whatever the labels
    (request,) = _drift_tick(labelled).run_requests
    assert request.run_key.startswith("drift:v5:")

    drifted("3")
    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", str(fresh))  # enough new labels
    (request,) = _drift_tick(labelled).run_requests
    assert request.run_key.startswith("drift:v3:")


def test_schedules_retrain_weekly_and_ingest_yesterday() -> None:
    from datetime import UTC, datetime

    import dagster as dg

    from fraud_assets.definitions import defs

    definitions = defs()
    weekly = definitions.resolve_schedule_def("weekly_retraining")
    assert weekly.cron_schedule == "0 2 * * 1" and weekly.job_name == "retraining"
    assert weekly.default_status == dg.DefaultScheduleStatus.RUNNING
    assert weekly.required_resource_keys == {"registry"}  # skips during a release

    daily = definitions.resolve_schedule_def("daily_ingestion")
    assert daily.default_status == dg.DefaultScheduleStatus.RUNNING
    moment = datetime(2026, 6, 2, 0, 30, tzinfo=UTC)
    context = dg.build_schedule_context(scheduled_execution_time=moment)
    (request,) = daily.evaluate_tick(context).run_requests
    assert request.partition_key == "2026-06-01"


def test_definitions_follow_the_conventions() -> None:
    import dagster as dg

    from fraud_assets.definitions import defs

    definitions = defs()
    for spec in definitions.resolve_all_asset_specs():
        assert spec.group_name and spec.kinds and spec.owners, spec.key
    job = definitions.resolve_job_def("retraining")
    assert job.executor_def is dg.in_process_executor
    assert job.tags["retrain"] == "fraud"
    assert {h.name for h in job.hook_defs} == {"end_mlflow_on_run_finished"}
    for sensor in definitions.sensors:
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, sensor.name
    check = definitions.get_asset_checks_def(
        dg.AssetCheckKey(dg.AssetKey("validation_gate"), "gate_passed")
    )
    assert next(iter(check.check_specs)).blocking


def test_definitions_validate_and_load_without_heavy_imports(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}  # no .tmp_dagster_home_* in the repo
    validate = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m",
         "fraud_assets.definitions"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert validate.returncode == 0, validate.stderr[-3000:]
    probe = (
        "import sys; from fraud_assets.definitions import defs; defs();"
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    loaded = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", probe], cwd=ROOT, capture_output=True, text=True
    )
    assert loaded.stdout.strip().splitlines()[-1] == "[]", loaded.stderr[-2000:]


@pytest.mark.parametrize("config_dir", ["dagster_home", "deploy/dagster"])
def test_instance_configs_allow_one_retraining_at_a_time(config_dir: str) -> None:
    import yaml

    config = yaml.safe_load((ROOT / config_dir / "dagster.yaml").read_text())
    runs = config["concurrency"]["runs"]
    assert {"key": "retrain", "value": "fraud", "limit": 1} in runs["tag_concurrency_limits"]
    assert "run_coordinator" not in config  # both blocks: the instance refuses to load


def test_local_instance_loads_with_the_queue_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import dagster as dg

    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        queue = instance.get_concurrency_config().run_queue_config
        assert {"key": "retrain", "value": "fraud", "limit": 1} in queue.tag_concurrency_limits
        assert queue.max_concurrent_runs == 2  # SQLite: "database is locked" beyond a few
        assert instance.root_directory == str(tmp_path)
