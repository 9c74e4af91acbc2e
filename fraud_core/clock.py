"""The platform's "now": wall-clock time, or the simulated instant of a replay or a test.

`FRAUD_NOW` (an ISO instant, naive means UTC) moves every timestamp the platform writes: stage
start tags, audit rows, label receipt times, metric rows. The Dagster `clock` resource reads
the same variable, so assets, sensors and the rows they read agree on one time line.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fraud_core.settings import fixed_now


def now() -> datetime:
    """`FRAUD_NOW` when set, else the wall clock (UTC, timezone-aware)."""
    return fixed_now() or datetime.now(UTC)
