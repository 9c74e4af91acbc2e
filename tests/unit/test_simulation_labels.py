"""Labels arrive like real ones: late, partial, and shaped by what was blocked."""

from __future__ import annotations

import warnings
from datetime import date

import numpy as np
import pandas as pd
import pytest

from fraud_core.schema import Label
from fraud_core.simulation import (
    LabelConfig,
    WorldConfig,
    generate_labels,
    measure_label_delays,
    simulate_world,
)

CONFIG = WorldConfig(start=date(2025, 1, 1), days=120, tx_per_day=2_000)
LONG_AFTER = pd.Timestamp("2026-01-01", tz="UTC")  # every report is in by then


@pytest.fixture(scope="module")
def world():
    return simulate_world(CONFIG, seed=31)


@pytest.fixture(scope="module")
def blocked(world):
    """Block 60% of fraud and 2% of legitimate payments, at random."""
    u = np.random.default_rng(0).random(len(world.is_fraud))
    return np.where(world.is_fraud, u < 0.6, u < 0.02)


@pytest.fixture(scope="module")
def labels(world, blocked):
    return generate_labels(world.transactions, world.is_fraud, blocked, as_of=LONG_AFTER, seed=5)


def outcome(world, labels, blocked):
    frame = pd.DataFrame({"fraud": world.is_fraud, "blocked": blocked})
    frame.index = world.transactions["transaction_id"]
    return frame.loc[labels["transaction_id"]]


def test_events_are_valid_labels_once_per_transaction(labels):
    assert labels["transaction_id"].is_unique
    assert labels["reported_at"].is_monotonic_increasing
    for record in labels.drop(columns="details").head(500).to_dict("records"):
        Label.model_validate(record)


def test_wrongly_blocked_customers_dispute_within_days(world, blocked, labels):
    disputes = labels[labels["source"].isin(["dispute", "ticket_export"])]
    truth = outcome(world, disputes, blocked)
    assert (disputes["label"] == "legit").all()
    assert (~truth["fraud"] & truth["blocked"]).all()
    wrongly_blocked = (~world.is_fraud & blocked).sum()
    assert len(disputes) / wrongly_blocked == pytest.approx(LabelConfig().dispute_rate, abs=0.03)
    delays = measure_label_delays(world.transactions, labels)
    for source in ("dispute", "ticket_export"):
        assert 1.0 <= delays.loc[source, "median"] <= 3.5
        assert delays.loc[source, "max"] <= 14


def test_approved_fraud_becomes_chargebacks_in_weeks(world, blocked, labels):
    chargebacks = labels[labels["source"] == "chargeback"]
    truth = outcome(world, chargebacks, blocked)
    assert (chargebacks["label"] == "fraud").all()
    assert (truth["fraud"] & ~truth["blocked"]).all()  # a blocked fraud never charges back
    delays = measure_label_delays(world.transactions, labels).loc["chargeback"]
    assert 30 <= delays["median"] <= 40  # ~5 weeks
    assert delays["max"] <= 120
    approved_fraud = (world.is_fraud & ~blocked).sum()
    never = 1 - len(chargebacks) / approved_fraud
    assert never == pytest.approx(LabelConfig().never_reported, abs=0.04)


def test_approved_legitimate_payments_produce_no_event(world, blocked, labels):
    truth = outcome(world, labels, blocked)
    assert not (~truth["fraud"] & ~truth["blocked"]).any()


def test_only_reports_made_by_as_of_are_returned(world, blocked, labels):
    as_of = pd.Timestamp(CONFIG.end, tz="UTC")
    early = generate_labels(world.transactions, world.is_fraud, blocked, as_of=as_of, seed=5)
    assert (early["reported_at"] <= as_of).all()
    assert len(early) < len(labels)
    pending = labels[labels["reported_at"] > as_of].set_index("transaction_id")
    paid = world.transactions.set_index("transaction_id").loc[pending.index, "event_time"]
    age = (as_of - paid) / pd.Timedelta(days=1)
    assert (age[pending["source"] != "chargeback"] < 14).all()  # disputes: recent payments
    assert (age[pending["source"] == "chargeback"] < 120).all()
    late = labels.set_index("transaction_id").loc[early["transaction_id"]]
    assert (late["reported_at"].to_numpy() == early["reported_at"].to_numpy()).all()


def test_without_decisions_every_payment_counts_as_approved(world):
    labels = generate_labels(world.transactions, world.is_fraud, as_of=LONG_AFTER, seed=5)
    assert set(labels["source"]) == {"chargeback"}
    assert len(labels) / world.is_fraud.sum() == pytest.approx(0.925, abs=0.04)


def test_labels_are_reproducible_from_the_seed(world, blocked, labels):
    again = generate_labels(world.transactions, world.is_fraud, blocked, as_of=LONG_AFTER, seed=5)
    pd.testing.assert_frame_equal(labels, again)
    other = generate_labels(world.transactions, world.is_fraud, blocked, as_of=LONG_AFTER, seed=6)
    assert not labels["reported_at"].equals(other["reported_at"])


def test_decisions_must_cover_every_transaction(world):
    with pytest.raises(ValueError, match="one entry per transaction"):
        generate_labels(world.transactions, world.is_fraud, [True], as_of=LONG_AFTER, seed=1)


def test_unreported_payments_raise_no_overflow_warning():
    """pandas' `to_timedelta` rounds the uninitialised fraction it keeps for a NaN delay: when
    that memory held a huge float (arrays the caller freed), it warned "overflow encountered in
    multiply". Unreported payments have no delay and must not reach it."""
    small = simulate_world(WorldConfig(start=date(2025, 1, 1), days=10, tx_per_day=500), seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        for seed in range(5):
            freed = [np.full(len(small.is_fraud), 1e308) for _ in range(16)]
            del freed
            generate_labels(small.transactions, small.is_fraud, None, as_of=LONG_AFTER, seed=seed)
