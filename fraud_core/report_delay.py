"""How much of a payment's fraud has been reported by its age: weights for labels that have not
matured yet.

Fraud comes in late (chargebacks: a median of about five weeks, up to `MATURITY_DAYS`), so on
payments younger than that an unreported one is legitimate only probably, and the reported
frauds are a share F(age) of the frauds among them. Weighting each reported fraud 1 / F(age)
restores their expected number. F is the empirical distribution of report delays of frauds
that have matured (`FeedbackStore.fraud_report_delays` of payments older than `MATURITY_DAYS`):
the platform's own evidence, not an assumed law. Weights are capped at 1 / `MIN_REPORTED_SHARE`
so that a few early reports never stand for many frauds (and a delay distribution that changed
since, such as a demo reporting every outcome at once, biases by a bounded factor).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.maturity import MATURITY_DAYS

if TYPE_CHECKING:
    from fraud_core.store import FeedbackStore

MIN_REPORTED_SHARE = 0.5
MIN_REFERENCE_FRAUDS = 30
"""Fewer matured frauds than this: no estimate (reported frauds keep weight 1)."""


@dataclass(frozen=True)
class ReportDelay:
    """The report delays (days, sorted) of matured frauds."""

    delays: np.ndarray

    @classmethod
    def from_store(
        cls, store: FeedbackStore, now: datetime, reference_days: float
    ) -> ReportDelay | None:
        """From the frauds among payments of the `reference_days` before they matured (older
        than `MATURITY_DAYS` at `now`); None when fewer than `MIN_REFERENCE_FRAUDS`."""
        end = now - timedelta(days=MATURITY_DAYS)
        delays = store.fraud_report_delays(end - timedelta(days=reference_days), end, now)
        delays = delays[delays <= MATURITY_DAYS]
        return cls(delays) if len(delays) >= MIN_REFERENCE_FRAUDS else None

    def reported_share(self, age_days: np.ndarray) -> np.ndarray:
        """F(age): the share of frauds reported within `age_days` of the payment."""
        found = np.searchsorted(self.delays, np.asarray(age_days, np.float64), side="right")
        return found / len(self.delays)

    def fraud_weight(self, age_days: np.ndarray) -> np.ndarray:
        """1 / F(age), capped at 1 / `MIN_REPORTED_SHARE`."""
        return 1.0 / np.maximum(self.reported_share(age_days), MIN_REPORTED_SHARE)

    def summary(self) -> dict[str, Any]:
        return {
            "reference_frauds": len(self.delays),
            "median_days": float(np.median(self.delays)),
            "p90_days": float(np.quantile(self.delays, 0.9)),
        }
