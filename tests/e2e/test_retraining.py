"""End to end: simulated history -> `fraudops seed` -> label-volume sensor -> retraining job ->
validation gate -> promotion; then a deliberately worse candidate, refused by the gate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.dagster_platform import Platform, platform

__all__ = ["platform"]  # the fixture, imported for pytest


pytestmark = pytest.mark.slow


def _seed(db_url: str) -> None:
    from click.testing import CliRunner

    from fraud_core.cli import main

    today = datetime.now(UTC).date().isoformat()
    args = ["seed", "--days", "90", "--tx-per-day", "1000", "--seed", "3",
            "--fraud-rate", "0.01", "--drift-start", today, "--db-url", db_url]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output


def _sensor_tick(platform: Platform, cursor: str | None):
    import dagster as dg

    sensor = platform.defs.resolve_sensor_def("label_volume_sensor")
    resources = platform.resources()
    with dg.build_sensor_context(
        instance=platform.instance,
        cursor=cursor,
        definitions=platform.defs,
        resources={k: resources[k] for k in sensor.required_resource_keys},
    ) as context:
        return sensor.evaluate_tick(context)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_seeded_history_is_retrained_gated_and_promoted(
    platform: Platform, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    monkeypatch.setenv("FRAUD_NOW", "")  # the seeded history ends yesterday: wall-clock time
    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", "200")
    _seed(db_url)

    tick = _sensor_tick(platform, cursor=None)
    assert tick.run_requests, tick.skip_message
    (request,) = tick.run_requests
    job = platform.defs.resolve_job_def("retraining")
    first = job.execute_in_process(
        instance=platform.instance,
        run_config={"ops": {"trained_model": {"config": {"n_estimators": 60}}}},
        tags={**request.tags, "dagster/run_key": request.run_key},
        raise_on_error=False,
    )
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    assert not _sensor_tick(platform, cursor=tick.cursor).run_requests  # once, not twice

    gate = platform.metadata("validation_gate")
    champion = gate["model_version"]
    assert gate["gate_passed"] and gate["trigger"] == "sensor:label_volume_sensor"
    assert "new labels since" in gate["reason"]
    assert platform.registry.aliases() == {"champion": champion}
    trained = platform.metadata("trained_model")
    run = mlflow.MlflowClient(platform.registry.tracking_uri).get_run(trained["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["dagster_run_id"] == first.run_id
    promote = platform.store.audit_entries(action="promote")[0]
    assert promote["actor"] == "dagster:sensor:label_volume_sensor"
    assert promote["details"]["gate_result"] == "passed"

    worse = platform.retrain(recipe={"n_estimators": 3, "max_depth": 1, "learning_rate": 0.05})
    assert not worse.success
    (check,) = worse.get_asset_check_evaluations()
    assert not check.passed
    refused = platform.metadata("validation_gate")
    assert not refused["gate_passed"] and refused["champion_version"] == champion
    assert (
        refused["gate_result"].startswith("failed: ")
        and check.description == refused["gate_result"]
    )
    print(f"gate refusal, as shown in the UI: {refused['gate_result']}")
    assert platform.registry.aliases() == {"champion": champion}  # unchanged, no challenger
    assert platform.registry.get_version(refused["model_version"]).rejected
    reject = platform.store.audit_entries(action="validation_gate.failed")[0]
    assert reject["reason"] == refused["gate_result"]
    # an ungated candidate is never shadowed: no alias ever pointed at the refused version
    assert not _alias_moves(platform, refused["model_version"])


def _alias_moves(platform: Platform, version: str) -> list[dict]:
    """Alias moves recorded in the audit log that point an alias at `version`."""
    entries = platform.store.audit_entries(subject=f"fraud-detector/{version}")
    moves = [m for e in reversed(entries) for m in (e["details"] or {}).get("moves", [])]
    return [m for m in moves if m["to"] == version]
