"""FeedbackStore reads behind the business report, on SQLite and PostgreSQL: metric history and
decision counts."""

from __future__ import annotations

from datetime import timedelta

from fraud_core.store import FeedbackStore
from tests.integration.test_store import T0, prediction


def _metric(name: str, value: float, day: int, computed: int, **keys) -> dict:
    return {
        "metric": name,
        "value": value,
        "computed_at": T0 + timedelta(days=computed),
        "window_start": T0 + timedelta(days=day - 7),
        "window_end": T0 + timedelta(days=day),
        "source": "model_performance",
        **keys,
    }


def test_metrics_history_keeps_every_value_in_order(store: FeedbackStore) -> None:
    assert store.metrics_history().empty
    store.write_metrics(
        [
            _metric("fpr", 0.07, day=7, computed=9, variant="champion"),
            _metric("fpr", 0.05, day=7, computed=8, variant="champion"),
            _metric("fpr", 0.11, day=14, computed=15, variant="champion"),
            _metric("recall", 0.9, day=14, computed=15, variant="champion"),
            _metric("fpr", 0.2, day=30, computed=31, variant="canary"),
        ]
    )
    fpr = store.metrics_history(["fpr"])
    assert fpr["value"].tolist() == [0.05, 0.07, 0.11, 0.2]  # by computed_at, not insertion
    assert str(fpr["window_end"].dtype) == "datetime64[ns, UTC]"
    assert len(store.metrics_history()) == 5
    assert store.metrics_history(["fpr", "recall"], since=T0 + timedelta(days=10))[
        "value"
    ].tolist() == [0.11, 0.9, 0.2]
    until = store.metrics_history(["fpr"], until=T0 + timedelta(days=14))
    assert until["value"].tolist() == [0.05, 0.07]  # window_end < until


def test_count_decisions_in_a_window(store: FeedbackStore) -> None:
    assert store.count_decisions(T0, T0 + timedelta(days=1)) == {}
    store.insert_predictions([prediction(i) for i in range(30)])  # T0 + i minutes
    assert store.count_decisions(T0, T0 + timedelta(days=1)) == {"approve": 15, "block": 15}
    # [start, end): minutes 10..19
    window = store.count_decisions(T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    assert window == {"approve": 5, "block": 5}
