"""Sticky canary routing: exact share, stable per customer, monotone in the percentage."""

import pytest

from fraud_serving.router import BUCKETS, canary_bucket, routes_to_canary

CUSTOMERS = [f"cust-{i}" for i in range(5000)]


@pytest.mark.parametrize("percent", [1, 10, 25, 50])
def test_share_matches_percent(percent: int) -> None:
    share = sum(routes_to_canary(c, percent, "salt") for c in CUSTOMERS) / len(CUSTOMERS)
    assert share == pytest.approx(percent / 100, abs=0.02)


def test_sticky_and_monotone() -> None:
    at10 = {c for c in CUSTOMERS if routes_to_canary(c, 10, "salt")}
    assert at10 == {c for c in CUSTOMERS if routes_to_canary(c, 10, "salt")}
    at25 = {c for c in CUSTOMERS if routes_to_canary(c, 25, "salt")}
    assert at10 < at25
    assert not any(routes_to_canary(c, 0, "salt") for c in CUSTOMERS)
    assert all(routes_to_canary(c, 100, "salt") for c in CUSTOMERS)


def test_salt_reshuffles() -> None:
    a = {c for c in CUSTOMERS if routes_to_canary(c, 10, "a")}
    b = {c for c in CUSTOMERS if routes_to_canary(c, 10, "b")}
    assert len(a & b) < len(a) / 3
    assert all(0 <= canary_bucket(c, "a") < BUCKETS for c in CUSTOMERS[:100])
