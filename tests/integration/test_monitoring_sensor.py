"""`drift_sensor` against a real Dagster instance: fires once per drifted report, with why."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module")
def defs():
    from fraud_assets.definitions import defs

    return defs()


@pytest.fixture
def registry(mlflow_uri, tmp_path):
    """A registry with no model yet: no release in progress, so drift may launch retraining."""
    from fraud_assets.resources import FeedbackStoreResource, RegistryResource

    store = FeedbackStoreResource(db_url=f"sqlite:///{tmp_path / 'feedback.db'}")
    return RegistryResource(tracking_uri=mlflow_uri, model_name="fraud-detector", store=store)


@pytest.fixture
def instance():
    import dagster as dg

    with dg.instance_for_test() as instance:
        yield instance


def report(instance, *, detected: bool, version: str = "3", at: str = "2026-06-01T06:00:00+00:00"):
    import dagster as dg

    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "drift_report",
            metadata={
                "drift_detected": detected,
                "model_version": version,
                "computed_at": at,
                "reason": "4/15 features drifted (share 0.27, dataset threshold 0.25)"
                if detected
                else "0/15 features drifted",
            },
        )
    )


def evaluate(defs, instance, registry, cursor=None):
    import dagster as dg

    from fraud_assets.resources import Clock, RetrainingTriggers

    sensor = defs.resolve_sensor_def("drift_sensor")
    resources = {
        "clock": Clock(),
        "registry": registry,
        "store": registry.store,
        "triggers": RetrainingTriggers(),
    }
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, definitions=defs, resources=resources
    ) as context:
        return sensor.evaluate_tick(context)


def test_drift_sensor_launches_retraining_once_per_drifted_report(defs, instance, registry):
    from dagster._core.test_utils import create_run_for_test

    first = evaluate(defs, instance, registry)
    assert not first.run_requests and "never been materialized" in first.skip_message

    report(instance, detected=False)
    calm = evaluate(defs, instance, registry)
    assert not calm.run_requests and "no drift" in calm.skip_message

    report(instance, detected=True)
    fired = evaluate(defs, instance, registry, calm.cursor)
    (request,) = fired.run_requests
    assert request.run_key == "drift:v3:2026-06-01"
    assert request.tags["fraud/trigger"] == "sensor:drift_sensor"
    assert "drift against champion v3" in request.tags["fraud/reason"]
    assert "4/15 features drifted" in request.tags["fraud/reason"]
    assert request.job_name in (None, "retraining")

    again = evaluate(defs, instance, registry, fired.cursor)
    assert not again.run_requests and "no drift report since" in again.skip_message

    create_run_for_test(instance, job_name="retraining", tags={"dagster/run_key": request.run_key})
    report(instance, detected=True, at="2026-06-01T12:00:00+00:00")
    same_day = evaluate(defs, instance, registry, fired.cursor)
    assert not same_day.run_requests
    assert "already launched" in same_day.skip_message or "in flight" in same_day.skip_message
    assert json.loads(same_day.cursor)["storage_id"] > json.loads(fired.cursor)["storage_id"]


def test_drift_sensor_waits_for_a_retraining_in_flight(defs, instance, registry):
    import dagster as dg
    from dagster._core.test_utils import create_run_for_test

    create_run_for_test(instance, job_name="retraining", status=dg.DagsterRunStatus.STARTED)
    report(instance, detected=True, version="4", at="2026-06-02T00:00:00+00:00")
    result = evaluate(defs, instance, registry)
    assert not result.run_requests and "in flight" in result.skip_message
