"""Sticky canary routing: a salted hash of the customer id picks the model.

A customer falls in one of 10,000 buckets; the canary takes the buckets below
`percent * 100`. The share is exact over many customers whatever the number of workers or
replicas, a customer always sees the same model at a given percentage, and raising the
percentage only adds customers to the canary (nobody flips back and forth).
"""

from __future__ import annotations

import hashlib

BUCKETS = 10_000


def canary_bucket(customer_id: str, salt: str) -> int:
    """The customer's bucket in [0, BUCKETS), stable for a given salt."""
    digest = hashlib.blake2b(f"{salt}\x00{customer_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def routes_to_canary(customer_id: str, percent: float, salt: str) -> bool:
    """True when this customer is served by the canary at `percent` (0-100) of traffic."""
    if percent <= 0:
        return False
    return canary_bucket(customer_id, salt) < percent * (BUCKETS // 100)
