"""Weighting reported frauds by the share of fraud reported by their age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from fraud_core.evaluation import label_states
from fraud_core.report_delay import MIN_REPORTED_SHARE, ReportDelay
from fraud_core.threshold_learning import labeled_frame


def test_reported_share_is_the_empirical_distribution_capped_for_young_payments() -> None:
    delay = ReportDelay(np.array([10.0, 20.0, 30.0, 40.0]))
    assert delay.reported_share(np.array([5, 10, 25, 40, 200])).tolist() == [0, 0.25, 0.5, 1, 1]
    weights = delay.fraud_weight(np.array([5, 25, 35, 45]))
    assert weights.tolist() == [1 / MIN_REPORTED_SHARE, 2.0, 1 / 0.75, 1.0]
    assert delay.summary()["reference_frauds"] == 4 and delay.summary()["median_days"] == 25


def test_corrected_weights_recover_the_fraud_of_payments_45_days_old() -> None:
    """The simulator's chargebacks (a median of ~5 weeks): at 45 to 75 days a third of the fraud
    that will be reported is not yet; weighted by the delays of older, matured frauds it is
    counted whole (fraud never reported stays unseen, as it does at maturity)."""
    from fraud_core.simulation import generate_labels

    rng = np.random.default_rng(5)
    n, start = 200_000, datetime(2025, 1, 1, tzinfo=UTC)
    event_time = start + pd.to_timedelta(rng.uniform(0, 90, n), unit="D")
    is_fraud = rng.random(n) < 0.02
    tx = pd.DataFrame({"transaction_id": [f"t{i}" for i in range(n)], "event_time": event_time})
    now = start + timedelta(days=90 + 45)
    labels = generate_labels(tx, is_fraud, as_of=now, seed=5)
    log = tx.assign(
        decision="approve",
        score=rng.random(n),
        amount_usd=100.0,
        account_age_days=400,
        payment_method="card",
        propensity=1.0,
    )
    # the reference: matured frauds' delays (as `FeedbackStore.fraud_report_delays` returns)
    late = generate_labels(tx, is_fraud, as_of=now + timedelta(days=200), seed=6)
    reported = late[late["label"] == "fraud"].merge(tx, on="transaction_id")
    delays = (reported["reported_at"] - reported["event_time"]).dt.total_seconds() / 86_400
    delay = ReportDelay(np.sort(delays.to_numpy()))

    recent = np.asarray(event_time >= start + timedelta(days=60))  # 45 to 75 days old
    window = log[recent]
    states = label_states(window, labels, as_of=now, maturity_days=45)
    age = ((now - window["event_time"]) / pd.Timedelta(days=1)).to_numpy()
    plain = labeled_frame(window, states)
    corrected = labeled_frame(window, states, delay.fraud_weight(age))

    truth = reported["transaction_id"].isin(window["transaction_id"]).sum()  # reported at last
    counted = plain.loc[plain["is_fraud"], "weight"].sum()
    weighted = corrected.loc[corrected["is_fraud"], "weight"].sum()
    assert counted < 0.85 * truth  # a sixth or more not reported yet
    assert abs(weighted - truth) < 0.05 * truth
    assert np.array_equal(  # legitimate rows keep their weight
        plain.loc[~plain["is_fraud"], "weight"], corrected.loc[~corrected["is_fraud"], "weight"]
    )
