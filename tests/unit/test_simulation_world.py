"""The simulated world: valid Transactions, reproducible, realistic scenarios, fast."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_core.features import featurize_frame
from fraud_core.schema import Transaction
from fraud_core.simulation import DriftSchedule, WorldConfig, amount_usd, simulate_world
from fraud_core.simulation.fraud import SCENARIOS
from fraud_core.simulation.world import ORACLE_COLUMNS, TRANSACTION_COLUMNS

SMALL = WorldConfig(start=date(2025, 3, 1), days=40, tx_per_day=400)


@pytest.fixture(scope="module")
def world():
    return simulate_world(WorldConfig(days=545, tx_per_day=800), seed=11)


def test_same_seed_same_world_other_seed_other_world():
    first, again = simulate_world(SMALL, seed=3), simulate_world(SMALL, seed=3)
    pd.testing.assert_frame_equal(first.transactions, again.transactions)
    pd.testing.assert_frame_equal(first.oracle, again.oracle)
    other = simulate_world(SMALL, seed=4)
    assert not first.transactions["amount"].equals(other.transactions["amount"])


def test_every_row_is_a_valid_transaction_and_featurizes():
    world = simulate_world(SMALL, seed=5)
    tx = world.transactions
    assert tuple(tx.columns) == TRANSACTION_COLUMNS == tuple(Transaction.model_fields)
    records = tx.astype(object).where(tx.notna(), None).to_dict("records")
    for record in records:
        Transaction.model_validate(record)
    features = featurize_frame(tx)
    assert features.shape[0] == len(tx) and np.isfinite(features).all()
    assert tx["transaction_id"].is_unique and tx["event_time"].is_monotonic_increasing
    assert str(tx["event_time"].dtype) == "datetime64[ns, UTC]"


def test_the_truth_stays_out_of_the_transactions():
    world = simulate_world(SMALL, seed=6)
    assert tuple(world.oracle.columns) == ORACLE_COLUMNS
    assert not set(world.transactions.columns) & {"is_fraud", "scenario", "market"}
    assert world.oracle["transaction_id"].tolist() == world.transactions["transaction_id"].tolist()


def test_a_history_ending_yesterday_is_in_the_past():
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    world = simulate_world(WorldConfig.ending(yesterday, 3, tx_per_day=200), seed=1)
    assert world.transactions["event_time"].max() < pd.Timestamp(datetime.now(UTC))
    assert world.transactions["event_time"].min() >= pd.Timestamp(
        yesterday, tz="UTC"
    ) - pd.Timedelta(days=2)


@pytest.mark.parametrize("rate", [0.002, 0.005, 0.01])
def test_fraud_rate_is_configurable(rate):
    config = WorldConfig(days=60, tx_per_day=2_000, fraud_rate=rate,
                         drift=DriftSchedule.stationary(date(2025, 1, 1)))  # fmt: skip
    measured = simulate_world(config, seed=2).is_fraud.mean()
    assert measured == pytest.approx(rate, rel=0.12)
    assert 0.002 <= WorldConfig().fraud_rate <= 0.01


def test_fraud_scenarios_have_their_signatures(world):
    tx, oracle = world.transactions, world.oracle
    scenario = oracle["scenario"].astype(str).to_numpy()
    usd = amount_usd(tx)
    legit = scenario == "legit"
    new_device = (tx["device_age_days"] < 1).to_numpy()
    assert set(SCENARIOS) <= set(scenario)
    testing = scenario == "card_testing"
    assert np.median(usd[testing]) < 5 < np.median(usd[legit])
    assert tx.loc[testing, "customer_id"].nunique() < testing.sum() / 3  # bursts per account
    takeover = scenario == "account_takeover"
    assert new_device[takeover].mean() > 0.7 and np.median(usd[takeover]) > 4 * np.median(
        usd[legit]
    )
    assert (tx.loc[takeover, "account_age_days"] > 90).mean() > 0.5  # real, established accounts
    first = scenario == "first_purchase"
    assert (tx.loc[first, "account_age_days"] <= 3).all() and np.median(usd[first]) > 300
    cross = scenario == "cross_border"
    foreign = (tx["customer_country"].astype(str) != tx["merchant_country"].astype(str)).to_numpy()
    assert foreign[cross].all() and foreign[legit].mean() < 0.2
    shops = scenario == "compromised_merchant"
    assert (tx.loc[shops, "channel"] == "in_store").all()
    assert tx.loc[shops, "merchant_id"].nunique() < 0.05 * tx["merchant_id"].nunique()
    wallet = scenario == "wallet_provisioning"
    assert (tx.loc[wallet, "payment_method"] == "digital_wallet").all()
    assert 0.75 <= new_device[wallet].mean() <= 0.9  # the second tell: a fresh token


def test_amounts_are_skewed_and_per_customer(world):
    legit = ~world.is_fraud
    usd = amount_usd(world.transactions)[legit]
    assert np.mean(usd) > 1.5 * np.median(usd)  # right-skewed
    per_customer = pd.Series(np.log(usd)).groupby(
        world.transactions.loc[legit, "customer_id"].astype(str).to_numpy()
    )
    assert per_customer.mean().std() > 0.5  # customers spend differently


def test_times_follow_the_customers_day():
    tx = simulate_world(WorldConfig(days=30, tx_per_day=2_000), seed=8).transactions
    us = (tx["customer_country"] == "US").to_numpy() & (tx["merchant_country"] == "US").to_numpy()
    local_hour = (tx.loc[us, "event_time"].dt.hour - 6) % 24
    assert ((local_hour >= 8) & (local_hour <= 22)).mean() > 0.85


def test_180_days_of_5000_payments_simulate_in_under_a_minute():
    started = time.perf_counter()
    world = simulate_world(WorldConfig(days=180, tx_per_day=5_000), seed=1)
    assert len(world.transactions) == 900_000
    assert time.perf_counter() - started < 60
