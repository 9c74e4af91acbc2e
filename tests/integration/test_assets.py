"""Assets materialized against a real store (SQLite and PostgreSQL) and a real SQLite MLflow."""

from __future__ import annotations

import pytest

from tests.fixtures.dagster_platform import Platform, materialize, platform, run_metadata, seed_log

__all__ = ["platform"]  # the fixture, imported for pytest


DAY = "2026-05-20"


def test_raw_predictions_summarises_one_day(platform: Platform) -> None:
    seed_log(platform.store, days=30, per_day=200)
    result = materialize(platform, ["raw_predictions"], partition_key=DAY)
    assert result.success
    meta = run_metadata(result, "raw_predictions")
    assert 150 <= meta["dagster/row_count"] <= 260
    assert 0 < meta["decline_rate"] < 0.2
    assert "approve" in {row["decision"] for row in meta["decision_mix"]}
    assert meta["model_versions"] == ["0"]
    (check,) = result.get_asset_check_evaluations()
    assert check.passed, check.metadata


def test_ground_truth_labels_loads_good_rows_and_reports_bad_ones(platform: Platform) -> None:
    seed_log(platform.store, days=30, per_day=200)
    known = platform.store.predictions_between(*_day_bounds("2026-05-10"))
    good = known["transaction_id"].iloc[:3].tolist()
    landing = platform.folders["landing"]
    landing.mkdir(parents=True, exist_ok=True)
    (landing / f"tickets-{DAY}.csv").write_text(
        "transaction_id,label,reported_at,note\n"
        f"{good[0]},fraud,2026-05-20T10:00:00+00:00,customer confirmed\n"
        f"{good[1]},legit,2026-05-20T11:00:00+00:00,\n"
        f"{good[2]},maybe,2026-05-20T11:00:00+00:00,\n"  # bad label value
        "no-such-tx,fraud,2026-05-20T12:00:00+00:00,\n"  # unknown transaction
        f"{good[2]},fraud,not-a-time,\n"  # bad timestamp
    )
    (landing / f"broken-{DAY}.jsonl").write_text("{not json\n")
    (landing / "tickets-2026-05-21.csv").write_text("transaction_id,label,reported_at\n")

    result = materialize(platform, ["ground_truth_labels"], partition_key=DAY)
    assert result.success
    meta = run_metadata(result, "ground_truth_labels")
    assert meta["inserted"] == 2
    assert meta["bad_row_count"] == 4
    for reason in ("label", "unknown transaction_id", "reported_at", "unreadable"):
        assert any(reason in row["reason"] for row in meta["bad_rows"]), meta["bad_rows"]
    assert "tickets-2026-05-21.csv" not in {row["file"] for row in meta["files"]}
    events = platform.store.label_events()
    stored = events[events["source"] == "ticket_export"].set_index("transaction_id")
    assert stored.loc[good[0], "label"] == "fraud"
    assert stored.loc[good[1], "label"] == "legit"

    again = run_metadata(
        materialize(platform, ["ground_truth_labels"], partition_key=DAY), "ground_truth_labels"
    )
    assert (again["inserted"], again["updated"]) == (0, 0)


def _day_bounds(day: str):
    from fraud_assets.partitions import day_bounds

    return day_bounds(day)


def test_training_dataset_refuses_too_few_labels(platform: Platform) -> None:
    seed_log(platform.store, days=10, per_day=50)
    result = materialize(platform, ["labeled_predictions", "training_dataset"])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "need at least 1000" in failure.step_failure_data.error.message


def test_an_asset_without_its_upstream_value_names_what_to_materialize(platform: Platform) -> None:
    result = materialize(platform, ["validation_gate"])
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.step_failure_data.error
    message = error.message + (error.cause.message if error.cause else "")
    assert "no value of trained_model" in message and "materialize trained_model first" in message


@pytest.mark.slow
def test_retraining_promotes_a_first_champion_then_gates_the_next(platform: Platform) -> None:
    import mlflow

    seed_log(platform.store, days=60, per_day=300)
    first = platform.retrain()
    assert first.success, [e.message for e in first.all_events if e.is_failure]
    gate = platform.metadata("validation_gate")
    assert gate["gate_passed"] and gate["champion_version"] == "none"
    assert platform.registry.aliases() == {"champion": gate["model_version"]}
    verdict = platform.value("validation_gate")  # what challenger_model and the check received
    assert (verdict.passed, verdict.champion_version) == (True, None)
    assert (verdict.model_version, verdict.dagster_run_id) == (gate["model_version"], first.run_id)

    trained = platform.metadata("trained_model")
    run = mlflow.MlflowClient(platform.registry.tracking_uri).get_run(trained["mlflow_run_id"])
    assert run.data.tags["dagster_run_id"] == first.run_id
    assert run.info.status == "FINISHED"
    assert trained["mlflow_run"].endswith(trained["mlflow_run_id"])
    assert trained["trigger"] == "test" and trained["training_window"]["rows"] > 1000

    promoted = platform.metadata("challenger_model")
    assert promoted["champion"] == gate["model_version"]
    actions = [e["action"] for e in platform.store.audit_entries()]
    assert {"promote", "validation_gate.passed"} <= set(actions)
    assert "alias.set" not in actions  # an ungated candidate never holds an alias

    worse = platform.retrain(recipe={"n_estimators": 2, "max_depth": 1})
    assert not worse.success
    (check,) = worse.get_asset_check_evaluations()
    assert not check.passed and "F1" in check.description
    skipped = [e.step_key for e in worse.all_events if e.event_type_value == "STEP_SKIPPED"]
    assert skipped == [] or "challenger_model" in skipped
    assert "challenger_model" not in {
        e.step_key for e in worse.all_events if e.event_type_value == "STEP_SUCCESS"
    }
    refused = platform.metadata("validation_gate")
    assert not refused["gate_passed"] and "F1" in refused["reasons"]
    assert platform.value("validation_gate").summary == refused["gate_result"]
    assert platform.registry.aliases() == {"champion": gate["model_version"]}
    assert platform.registry.get_version(refused["model_version"]).rejected
    run = mlflow.MlflowClient(platform.registry.tracking_uri).get_run(refused["mlflow_run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["validation_gate"] == "failed"


def test_online_log_creates_partitions_ahead_and_drops_exported_days(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime

    seed_log(platform.store, days=12, per_day=50)  # 2026-05-20 .. 2026-05-31
    exported = ["2026-05-20", "2026-05-21", "2026-05-22"]
    for day in exported:
        assert materialize(platform, ["prediction_history"], partition_key=day).success
    result = materialize(platform, ["online_log"])  # retention off: partitions only
    assert result.success
    meta = run_metadata(result, "online_log")
    assert meta["retention_days"] == "off" and "days_dropped" not in meta
    if platform.store.engine.dialect.name == "postgresql":
        assert (
            meta["partitions_created"][0] == "2026-06-01" and len(meta["partitions_created"]) == 7
        )
    monkeypatch.setenv("FRAUD_ONLINE_RETENTION_DAYS", "7")
    meta = run_metadata(materialize(platform, ["online_log"]), "online_log")
    assert meta["days_dropped"] == 3 and meta["keys_dropped"] == 0  # keys stay 180 days
    assert {row["why"] for row in meta["kept"]} == {"not in the lake"}  # 05-23 and 05-24
    held = platform.store.day_counts(
        datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    )
    assert sorted(held)[0] == "2026-05-23" and not set(exported) & set(held)
