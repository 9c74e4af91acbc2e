"""Monitoring assets against a real store (SQLite and PostgreSQL) and a real SQLite MLflow."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from fraud_core.drift import column_methods
from tests.fixtures.dagster_platform import Platform, materialize, platform, run_metadata, seed_log
from tests.fixtures.prediction_log import END, synthetic_log

__all__ = ["platform"]  # the fixture, imported for pytest

TRAINED_ON = {"as_of": "2026-05-01T00:00:00+00:00", "days": 30, "rows": 4500}
DRIFT_CONFIG = {"ops": {"drift_report": {"config": {"window_rows": 2000}}}}


def _champion(platform: Platform, train_tiny_model) -> str:
    model, _ = train_tiny_model()
    info = platform.registry.log_model(
        model,
        metrics={"f1": 0.5},
        params={"scale_pos_weight_used": 20.0},
        training_window=TRAINED_ON,
    )
    platform.registry.promote(info.version, actor="test", reason="first champion")
    return info.version


def _drifted_rows(days: int = 2, per_day: int = 1000) -> list[dict]:
    """Traffic after END where every payment is a wallet payment from an unknown country."""
    rows, _ = synthetic_log(days=days, per_day=per_day, end=END + timedelta(days=days), seed=9)
    for row in rows:
        features = row["features"]
        for name in features:
            if name.startswith(("pm_", "wallet_", "customer_region_")):
                features[name] = 0.0
        features |= {"pm_digital_wallet": 1.0, "wallet_other": 1.0, "customer_region_other": 1.0}
        row["transaction_id"] = "drift-" + row["transaction_id"]
    return rows


def test_reference_is_frozen_and_drift_is_reported(
    platform: Platform, train_tiny_model, monkeypatch
) -> None:
    seed_log(platform.store, days=60, per_day=150)
    version = _champion(platform, train_tiny_model)

    first = materialize(platform, ["reference_profile", "drift_report"], run_config=DRIFT_CONFIG)
    assert first.success
    reference = run_metadata(first, "reference_profile")
    assert reference["status"] == "built" and reference["model_version"] == version
    assert 4000 <= reference["dagster/row_count"] <= 5000
    info = platform.registry.get_version(version)
    assert info.tags["reference_profile_sha256"] == reference["sha256"]
    run = platform.registry.client.get_run(info.run_id)
    assert run.data.tags["reference_profile_sha256"] == reference["sha256"]

    calm = run_metadata(first, "drift_report")
    assert not calm["drift_detected"], calm["reason"]
    assert calm["dagster/row_count"] == 2000 and calm["model_version"] == version
    tests = {row["method"] for row in calm["per_feature"]}
    assert {"quantile_psi", "jensenshannon"} <= tests, tests
    assert Path(calm["report_html"]).stat().st_size > 100_000
    assert json.loads(Path(calm["report_json"]).read_text())["detected"] is False
    (check,) = first.get_asset_check_evaluations()
    assert check.passed

    drift_rows = platform.store.latest_metrics(metric="feature_drift")
    assert set(drift_rows["feature"]) == set(column_methods())
    assert set(drift_rows["model_version"]) == {version}

    platform.store.insert_predictions(_drifted_rows())
    monkeypatch.setenv("FRAUD_NOW", (END + timedelta(days=2)).isoformat())
    second = materialize(platform, ["reference_profile", "drift_report"], run_config=DRIFT_CONFIG)
    assert second.success
    assert run_metadata(second, "reference_profile")["status"] == "frozen (reused)"
    assert run_metadata(second, "reference_profile")["sha256"] == reference["sha256"]
    drifted = run_metadata(second, "drift_report")
    assert drifted["drift_detected"] and drifted["dataset_drift"], drifted["reason"]
    assert "payment_method jensenshannon" in drifted["reason"]
    (check,) = second.get_asset_check_evaluations()
    assert not check.passed and check.severity.value == "WARN"
    flags = platform.store.latest_metrics(metric="drift_detected")
    assert flags["value"].tolist() == [1.0]
    latest = platform.store.latest_metrics(metric="feature_drift").set_index("feature")
    assert latest.loc["customer_region", "value"] > 0.3


def test_drift_report_refuses_a_stale_reference(platform: Platform, train_tiny_model) -> None:
    seed_log(platform.store, days=60, per_day=50)
    first = _champion(platform, train_tiny_model)
    assert materialize(platform, ["reference_profile"]).success
    second = _champion(platform, train_tiny_model)
    result = materialize(platform, ["drift_report"], run_config=DRIFT_CONFIG)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = str(failure.event_specific_data.error)
    assert f"for version {first} but the champion is {second}" in message


def test_realized_and_estimated_performance_are_written(
    platform: Platform, train_tiny_model
) -> None:
    seed_log(platform.store, days=60, per_day=200)
    _champion(platform, train_tiny_model)
    config = {
        "ops": {
            "model_performance": {"config": {"maturity_days": 20, "window_days": 30}},
            "performance_estimate": {"config": {"window_days": 7}},
        }
    }
    result = materialize(platform, ["model_performance", "performance_estimate"], run_config=config)
    assert result.success
    realized = run_metadata(result, "model_performance")
    assert 0 < realized["champion_fpr"] < 0.2 and 0 <= realized["champion_recall"] <= 1
    assert realized["label_states"]["legit"] > 1000
    estimated = run_metadata(result, "performance_estimate")
    assert estimated["scale_pos_weight"] == {"0": 1.0}  # not in the registry: taken as calibrated
    assert 0 <= estimated["champion_fpr_estimate"] < 1
    beside = estimated["estimate_beside_realized"]
    assert list(beside[0])[:6] == [
        "model_version",
        "variant",
        "segment",
        "rows",
        "fpr_estimate",
        "fpr",
    ]
    champion_all = next(r for r in beside if (r["variant"], r["segment"]) == ("champion", "all"))
    assert champion_all["fpr"] == pytest.approx(realized["champion_fpr"])

    metrics = platform.store.latest_metrics()
    by_name = metrics.groupby("metric")["segment"].apply(lambda s: set(s.fillna("all")))
    for name in ("fpr", "recall", "precision", "decline_rate", "expected_cost_false_block",
                 "expected_cost_missed_fraud"):  # fmt: skip
        assert "all" in by_name[name] and "payment_method=card" in by_name[name]
        assert "all" in by_name[f"{name}_estimate"]
    fpr = metrics[(metrics["metric"] == "fpr") & metrics["segment"].isna()].iloc[0]
    assert (fpr["model_version"], fpr["variant"], fpr["source"]) == (
        "0",
        "champion",
        "model_performance",
    )
    assert fpr["window_end"] == pd.Timestamp("2026-05-12T00:00:00+00:00")
