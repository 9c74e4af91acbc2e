"""`fraudops seed` loads a scored, labelled history into the feedback store (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from click.testing import CliRunner

from fraud_core.cli import main
from fraud_core.features import FEATURE_NAMES, FEATURE_SPEC


def seed(*args: str):
    return CliRunner().invoke(main, ["seed", "--days", "10", "--tx-per-day", "1000", *args])


def test_seed_stores_predictions_and_their_label_events(store, db_url):
    result = seed("--db-url", db_url, "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "10,000 predictions" in result.output and "(10,000 new)" in result.output
    assert "transparent rule rule-v1 (no model given)" in result.output
    assert " 0 rejected" in result.output
    assert store.count_predictions() == 10_000

    now = datetime.now(UTC)
    data = store.training_data(days=30, end=now, as_of=now)
    assert (data["model_version"] == "rule-v1").all() and (data["variant"] == "champion").all()
    assert (data["feature_version"] == FEATURE_SPEC.version).all()
    assert set(data["features"].iloc[0]) == set(FEATURE_NAMES)
    assert data["explored"].sum() > 0 and (data.loc[data["explored"], "propensity"] < 1).all()
    assert (data["decision"] == "block").mean() > 0.005

    events = store.label_events()
    assert len(events) > 0 and set(events["source"]) <= {"dispute", "ticket_export", "chargeback"}
    assert set(events["transaction_id"]) <= set(data["transaction_id"])
    blocked = set(data.loc[data["decision"] == "block", "transaction_id"])
    disputes = events[events["source"] != "chargeback"]
    assert set(disputes["transaction_id"]) <= blocked and (disputes["label"] == "legit").all()

    again = seed("--db-url", db_url, "--seed", "5")
    assert again.exit_code == 0 and "(0 new)" in again.output  # idempotent
    assert store.count_predictions() == 10_000


def test_seed_scores_with_a_given_model(tmp_path):
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    features = rng.random((500, len(FEATURE_NAMES)))
    model = XGBClassifier(n_estimators=3, max_depth=2).fit(features, features[:, 0] > 0.9)
    path = tmp_path / "tiny.json"
    model.save_model(path)
    url = f"sqlite:///{tmp_path / 'fraud.db'}"
    result = seed("--db-url", url, "--model", str(path), "--days", "2")
    assert result.exit_code == 0, result.output
    assert f"scored with the model {path}" in result.output

    from fraud_core.store import FeedbackStore

    with FeedbackStore(url) as store:
        data = store.training_data(days=30)
    assert (data["model_version"] == "file:tiny").all()


@pytest.mark.parametrize(
    ("args", "code", "reason"),
    [
        (["--db-url", "not a url"], 2, "not a database URL"),
        (["--threshold", "2"], 2, "--threshold"),
        (["--db-url", "postgresql://nobody@127.0.0.1:9/none"], 1, "feedback store"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(args, code, reason):
    result = seed("--tx-per-day", "10", "--days", "1", *args)
    assert result.exit_code == code
    last = result.output.strip().splitlines()[-1]
    assert reason in last and last.startswith("Error:")
