"""Drift computation: methods named per column, quantile PSI, one-hot folding, saved reports."""

import json

import numpy as np
import pandas as pd
import pytest

from fraud_core import drift
from fraud_core.features import FEATURE_NAMES, featurize_frame


def transactions(n: int, rng, *, wallet=0.03, inflation=1.0, new_market=0.0) -> pd.DataFrame:
    """Synthetic payments: skewed amounts, a wallet share and a share from an unseen market."""
    pm = np.where(
        rng.random(n) < wallet,
        "digital_wallet",
        rng.choice(["card", "bank_transfer", "bnpl"], n, p=[0.85, 0.1, 0.05]),
    )
    home = rng.choice(["DE", "US", "FR"], n)
    return pd.DataFrame(
        {
            "event_time": pd.Timestamp("2025-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 86_400 * 30, n), unit="s"),
            "amount": rng.lognormal(3.5, 1.0, n) * inflation,
            "currency": "USD",
            "account_age_days": rng.integers(0, 3000, n),
            "payment_method": pm,
            "wallet_provider": np.where(
                pm == "digital_wallet", rng.choice(["apple_pay", "new_pay"], n), None
            ),
            "card_present": rng.random(n) < 0.4,
            "merchant_category": rng.choice(["grocery", "fuel", "travel"], n),
            "customer_country": np.where(rng.random(n) < new_market, "XK", home),
            "merchant_country": rng.choice(["DE", "US"], n),
            "channel": rng.choice(["online", "in_store", "mobile_app"], n),
            "device_age_days": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 500, n)),
        }
    )


def frame(n: int, seed: int, score_shift: float = 0.0, **drift_kwargs) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    scores = np.clip(rng.beta(1, 30, n) + score_shift * rng.random(n), 0, 1)
    return drift.monitoring_frame(featurize_frame(transactions(n, rng, **drift_kwargs)), scores)


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return frame(50_000, seed=1)


@pytest.fixture(scope="module")
def stationary(reference) -> drift.DriftResult:
    return drift.compute_drift(reference, frame(10_000, seed=2))


@pytest.fixture(scope="module")
def drifted(reference, tmp_path_factory) -> drift.DriftResult:
    current = frame(10_000, seed=3, wallet=0.25, inflation=1.3, new_market=0.2, score_shift=0.2)
    return drift.compute_drift(reference, current, out_dir=tmp_path_factory.mktemp("reports"))


def test_methods_are_named_per_column():
    methods = drift.column_methods()
    assert methods["amount_usd"] == methods["score"] == "quantile_psi"
    assert methods["account_age_days_log"] == "wasserstein"
    assert methods["is_cross_border"] == methods["payment_method"] == "jensenshannon"
    assert not set(drift.CALENDAR_FEATURES) & set(methods)
    assert set(methods.values()) == set(drift.THRESHOLDS)
    assert list(methods)[-1] == drift.SCORE


def test_monitoring_frame_folds_one_hot_groups():
    rng = np.random.default_rng(0)
    tx = transactions(2_000, rng, wallet=0.3, new_market=0.1)
    monitored = drift.monitoring_frame(featurize_frame(tx), np.zeros(len(tx)))
    assert list(monitored.columns) == [*drift.column_methods(), drift.HOUR]
    assert (monitored[drift.HOUR] == tx["event_time"].dt.hour).all()
    assert (monitored["payment_method"] == tx["payment_method"]).all()
    expected_wallet = tx["wallet_provider"].map({"apple_pay": "apple_pay", "new_pay": "other"})
    assert (monitored["wallet"] == expected_wallet.fillna("none")).all()
    assert set(monitored["customer_region"]) == {"europe", "north_america", "other"}
    assert set(monitored["card_present"]) == {"0", "1"}


def test_monitoring_frame_rejects_a_foreign_matrix():
    with pytest.raises(ValueError, match=str(len(FEATURE_NAMES))):
        drift.monitoring_frame(np.zeros((3, 5)))


def test_quantile_psi_is_near_zero_on_the_same_distribution():
    rng = np.random.default_rng(0)
    assert drift.quantile_psi(rng.lognormal(3, 1, 100_000), rng.lognormal(3, 1, 10_000)) < 0.005


def test_quantile_psi_sees_a_skewed_amount_inflation_that_equal_width_psi_misses():
    from evidently.legacy.calculations.stattests.psi import psi_stat_test
    from evidently.legacy.core import ColumnType

    rng = np.random.default_rng(0)
    reference = pd.Series(rng.lognormal(3.5, 1.0, 100_000))
    current = pd.Series(rng.lognormal(3.5, 1.0, 10_000) * 1.3)
    equal_width = psi_stat_test(reference, current, ColumnType.Numerical, 0.1).drift_score
    quantiles = drift.quantile_psi(reference, current)
    assert quantiles > 3 * equal_width
    assert quantiles > 10 * drift.quantile_psi(reference, rng.lognormal(3.5, 1.0, 10_000))


def test_quantile_psi_handles_point_masses_and_values_out_of_range():
    reference = np.r_[np.zeros(5_000), np.arange(1, 5_001, dtype=float)]
    assert drift.quantile_psi(reference, reference) == pytest.approx(0.0)
    shifted = drift.quantile_psi(reference, np.r_[np.full(500, 1e6), np.zeros(500), np.nan])
    assert np.isfinite(shifted) and shifted > 1
    with pytest.raises(ValueError):
        drift.quantile_psi([np.nan], [1.0])


def test_stationary_traffic_is_not_flagged(stationary):
    assert not stationary.detected
    assert all(c.score < 0.5 * c.threshold for c in stationary.columns), stationary.reason()


def test_drifted_traffic_is_flagged_with_the_method_of_each_column(drifted):
    assert drifted.detected and drifted.dataset_drift and drifted.score.drifted
    by_column = {c.column: c for c in drifted.columns}
    for column in ("payment_method", "wallet", "customer_region", "amount_usd_log"):
        assert by_column[column].drifted, drifted.reason()
    assert by_column["channel"].score < 0.05
    assert {c.method for c in drifted.columns} == set(drift.THRESHOLDS)
    assert "payment_method jensenshannon=" in drifted.reason()
    assert drifted.top(3)[0].severity >= drifted.top(3)[-1].severity


def test_reports_are_saved(drifted):
    html = drifted.html_path.read_text()
    assert "quantile" in html and "Jensen-Shannon" in html
    summary = json.loads(drifted.json_path.read_text())
    assert summary["detected"] and len(summary["columns"]) == len(drift.column_methods())
    evidently_json = drifted.json_path.with_suffix(".evidently.json")
    assert json.loads(evidently_json.read_text())["metrics"]
    assert drifted.png_path.read_bytes()[:4] == b"\x89PNG"


def test_quantile_psi_is_registered_with_evidently(drifted):
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    drift.register_quantile_psi()
    assert get_registered_stattest("quantile_psi", ColumnType.Numerical).name == "quantile_psi"


def test_reference_is_matched_to_the_hours_of_the_window(reference):
    hours = reference[drift.HOUR]
    current = pd.concat([reference[hours == 2].head(300), reference[hours == 3].head(100)])
    matched = drift.match_hours(reference, current)
    counts = matched[drift.HOUR].value_counts()
    assert set(counts.index) == {2, 3}
    assert counts[2] / counts[3] == pytest.approx(3, rel=0.02)
    available = hours.value_counts()
    assert available[2] - counts[2] <= 3 or available[3] - counts[3] <= 1
    assert not matched.duplicated().any()
    without_one = reference[hours != 1].reset_index(drop=True)
    at_one = current.assign(**{drift.HOUR: np.int8(1)})
    assert drift.match_hours(without_one, at_one).equals(without_one)
