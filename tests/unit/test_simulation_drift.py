"""Drift schedules: set by date, defaults as in the case study, every effect size measured."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from fraud_core.simulation import (
    DriftSchedule,
    Ramp,
    WorldConfig,
    measure_effects,
    simulate_world,
)

WINDOW = 14


def window_mean(ramp: Ramp, config: WorldConfig, last: bool) -> float:
    """The schedule's own average over the first or last WINDOW days of a world."""
    first_day = config.end - timedelta(days=WINDOW - 1) if last else config.start
    days = np.datetime64(first_day, "D") + np.arange(WINDOW)
    return float(ramp.at(days).mean())


@pytest.fixture(scope="module")
def drifted():
    config = WorldConfig(days=365 + 180, tx_per_day=2_000)
    world = simulate_world(config, seed=21)
    return config, world, measure_effects(world, window_days=WINDOW)


def test_default_schedule_is_the_case_study_over_the_last_six_months():
    config = WorldConfig()
    drift = config.drift
    assert drift.wallet_share.start == config.end - timedelta(days=179)
    assert drift.wallet_share.end == config.end
    assert (drift.amount_scale.before, drift.amount_scale.after) == (1.0, 1.3)
    assert drift.wallet_share.before <= 0.05 and drift.wallet_share.after == pytest.approx(0.45)
    assert 0.25 <= drift.expansion_share.after <= 0.30
    assert drift.fraud_to_wallet.after > 0


def test_every_effect_is_measured_as_scheduled(drifted):
    config, _, effects = drifted
    drift = config.drift
    assert effects.amount_ratio == pytest.approx(
        window_mean(drift.amount_scale, config, True), abs=0.04
    )
    assert effects.amount_ratio_all > effects.amount_ratio - 0.02  # new markets shop abroad
    assert effects.wallet_share.before == pytest.approx(
        window_mean(drift.wallet_share, config, False), abs=0.01
    )
    assert effects.wallet_share.after == pytest.approx(
        window_mean(drift.wallet_share, config, True), abs=0.025
    )
    assert effects.expansion_share.before == 0.0
    assert effects.expansion_share.after == pytest.approx(
        window_mean(drift.expansion_share, config, True), abs=0.02
    )
    assert effects.foreign_share.before < 0.004  # legitimate foreign traffic <= 0.2-0.3%


def test_fraudsters_move_to_wallets_and_the_rate_holds(drifted):
    config, world, effects = drifted
    assert 0.25 <= effects.fraud_wallet_share.before <= 0.5
    assert effects.fraud_wallet_share.after - effects.fraud_wallet_share.before > 0.15
    assert world.is_fraud.mean() == pytest.approx(config.fraud_rate, rel=0.1)


def test_schedules_are_set_by_date():
    start = date(2025, 1, 1)
    drift = DriftSchedule(
        amount_scale=Ramp(date(2025, 1, 20), date(2025, 2, 10), 1.0, 2.0),
        wallet_share=Ramp(start, start, 0.03, 0.03),
        expansion_share=Ramp(date(2025, 1, 15), date(2025, 1, 31), 0.0, 0.5),
        fraud_to_wallet=Ramp(start, start, 0.0, 0.0),
    )
    config = WorldConfig(start=start, days=70, tx_per_day=2_000, drift=drift)
    effects = measure_effects(simulate_world(config, seed=4), window_days=WINDOW)
    assert effects.amount_ratio == pytest.approx(2.0, abs=0.1)  # ramp over, held at its end
    assert effects.expansion_share.after == pytest.approx(0.5, abs=0.03)
    assert effects.wallet_share.after == pytest.approx(0.03, abs=0.01)


def test_a_stationary_world_does_not_drift():
    config = WorldConfig(
        days=120, tx_per_day=2_000, drift=DriftSchedule.stationary(date(2025, 1, 1))
    )
    effects = measure_effects(simulate_world(config, seed=9), window_days=WINDOW)
    assert effects.amount_ratio == pytest.approx(1.0, abs=0.04)
    assert effects.wallet_share.after == pytest.approx(effects.wallet_share.before, abs=0.01)
    assert effects.expansion_share.after == 0.0


def test_a_ramp_must_not_end_before_it_starts():
    with pytest.raises(ValueError, match="before it starts"):
        Ramp(date(2025, 2, 1), date(2025, 1, 1), 0.0, 1.0)
