"""Simulated traffic can be sent at each payment's own simulated time (the demo worlds end
yesterday), as the live-loop test sends it: fraud keeps its night hours and the payments their
order, so what the scorer decides, and what a time-split holdout holds, do not depend on the
hour the test happens to run. `make demo` stamps its payments now."""

from datetime import UTC, datetime, timedelta

import numpy as np

from fraud_core.commands.demo import demo_traffic, transaction_body
from fraud_core.features import FEATURE_NAMES, featurize_many
from fraud_core.schema import Transaction


def test_payments_are_sent_at_their_simulated_time() -> None:
    rows, _ = demo_traffic("drifted", 200, seed=3)
    records = rows.astype(object).to_dict(orient="records")
    bodies = [transaction_body(r, f"t{i}", simulated_time=True) for i, r in enumerate(records)]
    sent = [datetime.fromisoformat(b["event_time"]) for b in bodies]
    assert sent == [r["event_time"].to_pydatetime() for r in records]
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert all(today - timedelta(days=31) <= t < today for t in sent)
    hours = {t.hour for t in sent}
    assert len(hours) > 12  # the whole day, not the hour the test runs
    features = featurize_many([Transaction.model_validate(b) for b in bodies])
    of_day = np.array([t.hour + t.minute / 60 + t.second / 3600 for t in sent])
    hour_sin = features[:, FEATURE_NAMES.index("hour_sin")]
    assert np.abs(hour_sin - np.sin(2 * np.pi * of_day / 24)).max() < 1e-4


def test_by_default_a_payment_is_stamped_now() -> None:
    rows, _ = demo_traffic("pre-drift", 5, seed=3)
    record = rows.astype(object).to_dict(orient="records")[0]
    before = datetime.now(UTC)
    sent = datetime.fromisoformat(transaction_body(record, "t1")["event_time"])
    assert before <= sent <= datetime.now(UTC)
