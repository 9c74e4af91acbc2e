"""Configuration of a simulated world: size, dates, fraud rate and drift schedules by date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

DRIFT_DAYS = 180
"""Length of the default drift: the case study's six months in production."""


@dataclass(frozen=True)
class Ramp:
    """A quantity that moves linearly from `before` to `after` between two dates (inclusive)."""

    start: date
    end: date
    before: float
    after: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"ramp ends ({self.end}) before it starts ({self.start})")

    def at(self, days: np.ndarray) -> np.ndarray:
        """Value on each of `days` (numpy datetime64[D])."""
        start = np.datetime64(self.start, "D")
        span = max((self.end - self.start).days, 1)
        progress = np.clip((days - start).astype(np.float64) / span, 0.0, 1.0)
        return self.before + (self.after - self.before) * progress


@dataclass(frozen=True)
class DriftSchedule:
    """What changes in production, and when (each effect is measured by `measure_effects`).

    - `amount_scale`: multiplier on every amount (legitimate and fraudulent).
    - `wallet_share`: share of legitimate payments made with a digital wallet.
    - `expansion_share`: share of legitimate traffic from customers in the new markets.
    - `fraud_to_wallet`: share of non-wallet fraud (card testing, takeover, cross-border,
      first purchases) that fraudsters move to wallets.
    """

    amount_scale: Ramp
    wallet_share: Ramp
    expansion_share: Ramp
    fraud_to_wallet: Ramp

    @classmethod
    def case_study(cls, start: date, days: int = DRIFT_DAYS) -> DriftSchedule:
        """The case study's six months: amounts +30%, wallets 3% -> 45%, new markets -> 30%."""
        end = start + timedelta(days=days - 1)
        return cls(
            amount_scale=Ramp(start, end, 1.0, 1.3),
            wallet_share=Ramp(start, end, 0.03, 0.45),
            expansion_share=Ramp(start, end, 0.0, 0.3),
            fraud_to_wallet=Ramp(start, end, 0.0, 0.35),
        )

    @classmethod
    def stationary(cls, on: date) -> DriftSchedule:
        """No drift: the pre-drift world of `case_study`, held constant."""
        return cls(
            amount_scale=Ramp(on, on, 1.0, 1.0),
            wallet_share=Ramp(on, on, 0.03, 0.03),
            expansion_share=Ramp(on, on, 0.0, 0.0),
            fraud_to_wallet=Ramp(on, on, 0.0, 0.0),
        )


@dataclass(frozen=True)
class WorldConfig:
    """Size and calendar of a world. Without `drift`, its last 180 days follow the case study."""

    start: date = date(2025, 1, 1)
    days: int = 365 + DRIFT_DAYS
    tx_per_day: int = 5_000
    fraud_rate: float = 0.005
    drift: DriftSchedule | None = field(default=None)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.tx_per_day < 10:
            raise ValueError("tx_per_day must be at least 10")
        if not 0.0 < self.fraud_rate < 0.2:
            raise ValueError("fraud_rate must be in (0, 0.2)")
        if self.drift is None:
            drift_start = self.end - timedelta(days=DRIFT_DAYS - 1)
            object.__setattr__(self, "drift", DriftSchedule.case_study(drift_start))

    @property
    def end(self) -> date:
        """The last simulated day."""
        return self.start + timedelta(days=self.days - 1)

    @classmethod
    def ending(cls, end: date, days: int, **kwargs) -> WorldConfig:
        """A world whose last day is `end` (e.g. yesterday, so every event is in the past)."""
        return cls(start=end - timedelta(days=days - 1), days=days, **kwargs)
