"""Same results on the columnar path as on today's (row-by-row JSON) path, on a small world:
training rows (hence gate inputs), realized figures, learned thresholds and drift flags."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_core.features import FEATURE_NAMES
from fraud_core.lake import DECISION_COLUMNS, Lake
from fraud_core.store import FeedbackStore, features_frame
from tests.fixtures.prediction_log import END, synthetic_log

NOW = END + timedelta(days=20)


@pytest.fixture
def world(store: FeedbackStore, tmp_path, monkeypatch: pytest.MonkeyPatch):
    rows, labels = synthetic_log(days=40, per_day=250)
    store.insert_predictions(rows)
    store.upsert_labels(labels)
    monkeypatch.setenv("FRAUD_NOW", NOW.isoformat())
    return store, Lake(str(tmp_path / "lake"))


def labeled(frame: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The rows `labeled_predictions` writes for a frame of the window."""
    from fraud_assets.defs.ingestion.labeled_predictions import CONTEXT_COLUMNS
    from fraud_core.evaluation import ipw_weights, label_states

    states = label_states(frame, as_of=NOW)
    return (
        frame[list(CONTEXT_COLUMNS)]
        .assign(reported_label=frame["label"], label=states, weight=ipw_weights(frame, states))
        .join(features)
    )


def old_labeled(store: FeedbackStore, days: int) -> pd.DataFrame:
    """As main computes it: training_data, then the features dicts decoded row by row."""
    frame = store.training_data(days=days, end=NOW, as_of=NOW)
    return labeled(frame, features_frame(frame, FEATURE_NAMES))


def new_labeled(store: FeedbackStore, lake: Lake, days: int) -> pd.DataFrame:
    frame = lake.frame(store, NOW - timedelta(days=days), NOW, features=True, as_of=NOW)
    return labeled(frame, frame[list(FEATURE_NAMES)])


def test_training_rows_are_the_same(world) -> None:
    from fraud_core.training import features_and_target, training_rows

    store, lake = world
    old = training_rows(old_labeled(store, 60), pd.Timestamp(NOW), 60, 25.0)
    new = training_rows(new_labeled(store, lake, 60), pd.Timestamp(NOW), 60, 25.0)
    assert len(old) == len(new) > 1000 and (new["label"] == "fraud").sum() > 10
    for name in ("transaction_id", "label", "weight", "decision", "payment_method"):
        assert list(old[name]) == list(new[name]), name
    np.testing.assert_allclose(new["amount_usd"], old["amount_usd"], rtol=1e-7)
    (x_old, y_old), (x_new, y_new) = features_and_target(old), features_and_target(new)
    np.testing.assert_array_equal(x_old, x_new)  # the gate sees the same matrix
    np.testing.assert_array_equal(y_old, y_new)


def test_realized_figures_and_thresholds_are_the_same(world) -> None:
    from fraud_core.evaluation import label_states
    from fraud_core.monitoring import realized_figures
    from fraud_core.threshold_learning import LearningConfig, labeled_frame, learn_thresholds

    store, lake = world
    end = NOW - timedelta(days=20)
    old = store.training_data(days=30, end=end, as_of=NOW)
    new = lake.frame(  # what model_performance reads (threshold_policy: every feature)
        store,
        end - timedelta(days=30),
        end,
        columns=DECISION_COLUMNS,
        features=["account_age_days_log"],
        as_of=NOW,
    )
    old_states = label_states(old, as_of=NOW, maturity_days=20)
    new_states = label_states(new, as_of=NOW, maturity_days=20)
    np.testing.assert_array_equal(old_states, new_states)
    np.testing.assert_equal(  # NaN (no rows to divide by) equals NaN
        realized_figures(old, old_states, min_rows=50),
        realized_figures(new, new_states, min_rows=50),
    )
    config = LearningConfig(min_rows=50, min_fraud=3, samples=200)
    learned = [
        learn_thresholds(labeled_frame(frame, states), version="v", config=config)
        for frame, states in ((old, old_states), (new, new_states))
    ]
    assert learned[0].arms  # thresholds were learned at all
    assert learned[0].policy().thresholds == learned[1].policy().thresholds


def test_the_drift_window_is_the_stores_last_rows_with_their_features(
    store: FeedbackStore, tmp_path
) -> None:
    """`drift_report` reads which rows from the store and their features from the lake (closed
    days) and the store (the open day): the same rows and values as the log's JSON, also when
    the window starts among predictions that share one instant."""
    from fraud_assets.defs.monitoring.drift_report import latest_predictions

    rows, _ = synthetic_log(days=10, per_day=300)
    now = END - timedelta(hours=7)  # an open day of 17 hours
    tie = rows[1500]["event_time"]
    twins = [{**rows[1500], "transaction_id": f"twin-{i}"} for i in range(3)]
    store.insert_predictions(rows[:1501] + twins + rows[1501:])
    ordered = store.latest_predictions(now, 10_000, since=now - timedelta(days=30))
    first_twin = int(np.flatnonzero(ordered["transaction_id"] == "twin-0")[0])
    size = len(ordered) - first_twin  # the window starts at the second of four same-instant rows
    assert (ordered["event_time"].iloc[first_twin - 1 : first_twin + 3] == tie).all()

    lake = Lake(str(tmp_path / "lake"), now=lambda: now)
    window = latest_predictions(store, lake, now, size, max_days=30)
    expected = ordered.tail(size)
    assert list(window["id"]) == list(expected["id"]) and window["event_time"].iloc[0] == tie
    stored = features_frame(expected, FEATURE_NAMES).to_numpy(np.float32)
    assert np.array_equal(window[list(FEATURE_NAMES)].to_numpy(np.float32), stored)
    assert any(not day.from_store for day in lake.partitions(store, window["event_time"][0], now))
    assert latest_predictions(store, lake, END - timedelta(days=20), 10, 1).empty


def test_drift_flags_are_the_same(world, tmp_path) -> None:
    from fraud_assets.defs.monitoring.reference_profile import sampled_traffic
    from fraud_core.drift import compute_drift, monitoring_frame
    from fraud_core.monitoring import sample_rows

    store, lake = world
    start, end = END - timedelta(days=40), END - timedelta(days=10)
    old_ref = sample_rows(store.predictions_between(start, end), 3000, seed=1)
    new_ref = sampled_traffic(lake, store, start, end, 3000, seed=1)
    assert list(old_ref["id"]) == list(new_ref["id"])
    current = store.latest_predictions(END, 2000, since=END - timedelta(days=30))
    days = 1  # main's drift_report: look back 1, 2, 4, ... days until there are enough rows
    while len(old_current := store.predictions_between(END - timedelta(days=days), END)) < 2000:
        days *= 2
    old_current = old_current.tail(2000)
    assert list(current["id"]) == list(old_current["id"])

    def monitored(frame: pd.DataFrame) -> pd.DataFrame:
        X = features_frame(frame, FEATURE_NAMES).to_numpy(np.float32)
        return monitoring_frame(X, X[:, 0] / 1000)  # a fixed score: the amount in thousands

    results = [
        compute_drift(monitored(ref), monitored(current), out_dir=tmp_path, stem=name)
        for ref, name in ((old_ref, "old"), (new_ref, "new"))
    ]
    flags = [{c.column: c.drifted for c in r.columns} for r in results]
    assert flags[0] == flags[1] and results[0].detected == results[1].detected
