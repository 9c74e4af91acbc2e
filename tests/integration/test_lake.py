"""The columnar history (fraud_core.lake) gives the store's frames, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_core.features import FEATURE_NAMES
from fraud_core.lake import Lake
from fraud_core.store import FeedbackStore, RowError, features_frame
from tests.fixtures.prediction_log import END, synthetic_log


@pytest.fixture
def logged(store: FeedbackStore, monkeypatch: pytest.MonkeyPatch) -> FeedbackStore:
    rows, labels = synthetic_log(days=10, per_day=200)
    store.insert_predictions(rows)
    store.upsert_labels(labels)
    monkeypatch.setenv("FRAUD_NOW", (END - timedelta(hours=6)).isoformat())
    return store


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    assert list(new["id"]) == list(old["id"])
    for name in new.columns:
        if new[name].dtype == np.float32:
            expected = features_frame(old, [name])[name].to_numpy(np.float32)
            np.testing.assert_array_equal(new[name].to_numpy(), expected)
        else:
            pd.testing.assert_series_equal(new[name], old[name], check_dtype=False, obj=name)


def test_history_matches_training_data(logged: FeedbackStore, tmp_path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    end = END - timedelta(hours=6)  # the last day is open: read from the store
    old = logged.training_data(days=8, end=end, as_of=END)
    new = lake.frame(logged, end - timedelta(days=8), end, as_of=END)
    assert len(new) == len(old) > 1000
    assert new["label"].notna().sum() > 0
    _same(new, old)
    matrix = lake.frame(logged, end - timedelta(days=8), end, columns=[], features=True)
    assert matrix[list(FEATURE_NAMES)].dtypes.eq(np.float32).all()
    _same(matrix, old)
    assert len(list((tmp_path / "lake" / "predictions").glob("day=*/part.parquet"))) == 8


def test_partitions_follow_the_store(logged: FeedbackStore, tmp_path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    start, end = END - timedelta(days=5), END - timedelta(days=2)
    assert len(lake.sync(logged, start, end)) == 3
    assert lake.sync(logged, start, end) == []  # fresh: nothing exported again
    late = synthetic_log(days=1, per_day=5, end=end, seed=9)[0]
    logged.insert_predictions(
        [{**r, "transaction_id": "late-" + r["transaction_id"]} for r in late]
    )
    assert lake.sync(logged, start, end) == [f"{end - timedelta(days=1):%Y-%m-%d}"]
    frame = lake.frame(logged, start, end, columns=["transaction_id", "score"])
    assert list(frame.columns) == ["id", "event_time", "transaction_id", "score"]
    assert frame["transaction_id"].str.startswith("late-").sum() == 5


def test_a_window_cut_mid_day_exports_its_days_once(logged: FeedbackStore, tmp_path) -> None:
    lake = Lake(str(tmp_path / "lake"))
    start, end = END - timedelta(days=5, hours=7), END - timedelta(days=2, hours=3)
    assert len(lake.sync(logged, start, end)) == 4
    assert lake.sync(logged, start, end) == []
    assert lake.sync(logged, start + timedelta(hours=2), end - timedelta(hours=1)) == []
    frame = lake.frame(logged, start, end, columns=[])
    assert list(frame["id"]) == list(logged.predictions_between(start, end)["id"])


def test_unknown_column_is_named(logged: FeedbackStore, tmp_path) -> None:
    with pytest.raises(ValueError, match="scroe"):
        Lake(str(tmp_path)).frame(logged, END - timedelta(days=1), END, columns=["scroe"])


def test_prediction_matrix_loads_what_rows_load(store: FeedbackStore) -> None:
    rows = pd.DataFrame(synthetic_log(days=1, per_day=300)[0])
    matrix = features_frame(rows, FEATURE_NAMES).to_numpy(np.float32)
    matrix[3, 5] = np.nan  # a missing feature is stored as null
    plain = rows.drop(columns=["features"])
    assert store.insert_prediction_matrix(plain, matrix, FEATURE_NAMES) == 300
    back = store.predictions_between(END - timedelta(days=1), END)
    assert list(back["transaction_id"]) == list(rows["transaction_id"])
    stored = features_frame(back, FEATURE_NAMES).to_numpy(np.float32)
    np.testing.assert_array_equal(stored, matrix)
    assert back["features"].iloc[3][FEATURE_NAMES[5]] is None
    pd.testing.assert_series_equal(back["decision"], rows["decision"])


def test_prediction_matrix_names_a_bad_value(store: FeedbackStore) -> None:
    rows = pd.DataFrame(synthetic_log(days=1, per_day=10)[0])
    matrix = features_frame(rows, FEATURE_NAMES).to_numpy(np.float32)
    plain = rows.drop(columns=["features"])
    matrix[4, 2] = np.inf
    with pytest.raises(RowError, match=rf"row 4 .*{FEATURE_NAMES[2]}.* infinite"):
        store.insert_prediction_matrix(plain, matrix, FEATURE_NAMES)
    with pytest.raises(RowError, match="decision"):
        store.insert_prediction_matrix(plain.assign(decision="maybe"), matrix, FEATURE_NAMES)
    with pytest.raises(RowError, match="shape"):
        store.insert_prediction_matrix(plain, matrix[:, :3], FEATURE_NAMES)
    assert store.count_predictions() == 0
