"""One feature pipeline: single-row and batch paths agree; unseen categories are handled."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_core.features import (
    FEATURE_NAMES,
    FEATURE_SPEC,
    FeatureSpec,
    FeatureSpecMismatch,
    as_dict,
    featurize,
    featurize_frame,
    featurize_many,
    threshold_segment,
    threshold_segments,
)
from fraud_core.schema import USD_PER_UNIT, Transaction

NOW = datetime.now(UTC)

transactions = st.builds(
    Transaction,
    transaction_id=st.from_regex(r"[a-z0-9]{1,12}", fullmatch=True),
    event_time=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC)
    ),
    amount=st.floats(min_value=0.01, max_value=5_000),
    currency=st.sampled_from(sorted(USD_PER_UNIT)),
    customer_id=st.just("c"),
    account_age_days=st.integers(0, 5000),
    payment_method=st.just("digital_wallet"),
    wallet_provider=st.one_of(st.none(), st.sampled_from(["apple_pay", "paypal", "new_pay"])),
    card_present=st.booleans(),
    merchant_id=st.just("m"),
    merchant_category=st.sampled_from(["grocery", "travel", "never_seen"]),
    customer_country=st.sampled_from(["DE", "BR", "US", "AQ", "JP"]),
    merchant_country=st.sampled_from(["DE", "GB", "NG"]),
    channel=st.sampled_from(["online", "in_store", "mobile_app"]),
    device_id=st.none(),
    device_age_days=st.one_of(st.none(), st.integers(0, 900)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(transactions, min_size=1, max_size=8))
def test_single_row_and_batch_paths_give_identical_vectors(txs):
    batch_frame = featurize_frame(pd.DataFrame([t.model_dump() for t in txs]))
    batch_list = featurize_many(txs)
    singles = np.stack([featurize(t) for t in txs])
    assert batch_frame.dtype == np.float32 and batch_frame.shape == (len(txs), len(FEATURE_NAMES))
    np.testing.assert_array_equal(singles, batch_frame)
    np.testing.assert_array_equal(singles, batch_list)


def tx(**overrides) -> Transaction:
    base = dict(
        transaction_id="t",
        event_time=NOW - timedelta(hours=1),
        amount=100.0,
        currency="USD",
        customer_id="c",
        account_age_days=10,
        payment_method="card",
        card_present=False,
        merchant_id="m",
        merchant_category="electronics",
        customer_country="DE",
        merchant_country="DE",
        channel="online",
    )
    return Transaction(**(base | overrides))


def test_unseen_categories_fall_into_other():
    v = as_dict(
        featurize(
            tx(
                payment_method="digital_wallet",
                wallet_provider="brand_new_pay",
                merchant_category="space_tourism",
                customer_country="AQ",
            )
        )
    )
    assert v["wallet_other"] == 1 and v["mcc_other"] == 1 and v["customer_region_other"] == 1
    assert v["pm_digital_wallet"] == 1 and v["is_cross_border"] == 1


def test_missing_optional_fields():
    v = as_dict(featurize(tx()))
    assert v["device_age_missing"] == 1 and v["device_age_days_log"] == -1
    assert v["wallet_other"] == 0 and v["is_new_device"] == 0
    frame = pd.DataFrame([tx().model_dump()]).drop(columns=["wallet_provider", "device_age_days"])
    np.testing.assert_array_equal(featurize_frame(frame)[0], featurize(tx()))
    new_device = as_dict(featurize(tx(device_age_days=0)))
    assert new_device["is_new_device"] == 1 and new_device["device_age_missing"] == 0


def test_frame_missing_required_column_is_named():
    frame = pd.DataFrame([tx().model_dump()]).drop(columns=["amount"])
    with pytest.raises(ValueError, match="amount"):
        featurize_frame(frame)


def test_amount_is_converted_to_usd():
    assert as_dict(featurize(tx(amount=100, currency="EUR")))["amount_usd"] == pytest.approx(108)


def test_spec_round_trip_and_mismatch():
    saved = FEATURE_SPEC.to_dict()
    FEATURE_SPEC.check_compatible(saved)
    assert FeatureSpec.from_dict(saved).version == FEATURE_SPEC.version
    older = FeatureSpec(names=FEATURE_NAMES[:-1], vocabularies=FEATURE_SPEC.vocabularies)
    with pytest.raises(FeatureSpecMismatch, match="missing \\['mcc_other'\\]"):
        FEATURE_SPEC.check_compatible(older.to_dict())
    reordered = FeatureSpec(names=FEATURE_NAMES[::-1], vocabularies=FEATURE_SPEC.vocabularies)
    with pytest.raises(FeatureSpecMismatch, match="order"):
        FEATURE_SPEC.check_compatible(reordered)


def test_threshold_segment():
    assert threshold_segment(5, 1200) == "small|established"
    assert threshold_segment(1000, 3) == "large|new"


def test_threshold_segments_are_threshold_segment_row_by_row():
    rng = np.random.default_rng(0)
    edges = [0.0, 49.99, 50.0, 50.01, 499.99, 500.0, 1e9]
    usd = np.concatenate([edges, rng.lognormal(4, 2, 2_000)])
    age = np.concatenate([[0, 89, 90, 90.5, 89.999, 3000, np.nan], rng.integers(0, 400, 2_000)])
    method = np.array(["card", None, "digital_wallet", "bnpl"] * 502, dtype=object)[: len(usd)]
    expected = [threshold_segment(*row) for row in zip(usd, age, method, strict=True)]
    assert threshold_segments(usd, age, method).tolist() == expected
    without = [threshold_segment(u, a) for u, a in zip(usd, age, strict=True)]
    assert threshold_segments(usd, age).tolist() == without
    with pytest.raises(ValueError, match="amount band"):
        threshold_segments(np.array([np.nan]), np.array([1.0]))


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_frame_timestamps_of_any_resolution_and_nullable_columns(unit):
    rows = [
        tx(event_time=datetime(2025, 3, 1, 22, 30, tzinfo=UTC), device_age_days=d)
        for d in (0, None)
    ]
    frame = pd.DataFrame([r.model_dump() for r in rows])
    frame["event_time"] = pd.to_datetime(frame["event_time"], utc=True).dt.as_unit(unit)
    frame["device_age_days"] = frame["device_age_days"].astype("Int64")  # nullable: <NA>
    frame["wallet_provider"] = frame["wallet_provider"].astype("string")
    np.testing.assert_array_equal(featurize_frame(frame), featurize_many(rows))
