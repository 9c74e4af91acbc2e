"""The replayed world: the case study's pre-drift history and six drift months, simulated once
and shared by every arm (same payments, same fraud)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

import numpy as np
import pandas as pd

from fraud_core.simulation import DriftSchedule, WorldConfig, amount_usd, simulate_world
from fraud_core.simulation.config import DRIFT_DAYS

START = date(2025, 1, 1)
"""First simulated day: the first daily partition of `fraud_assets.partitions`."""


@dataclass(frozen=True)
class ReplaySize:
    """How big a replay is: payments a day, pre-drift days, drift days."""

    tx_per_day: int = 5_000
    pre_drift_days: int = 150
    drift_days: int = DRIFT_DAYS

    @classmethod
    def quick(cls) -> ReplaySize:
        """The same timeline with fewer payments a day (the CI size)."""
        return cls(tx_per_day=800)


@dataclass(frozen=True)
class ReplayWorld:
    """The simulated payments (`transactions`, Transaction columns), the hidden truth and the
    calendar of one replay."""

    size: ReplaySize
    seed: int
    transactions: pd.DataFrame
    is_fraud: np.ndarray
    amount_usd: np.ndarray

    @classmethod
    def simulate(cls, size: ReplaySize, seed: int) -> ReplayWorld:
        drift_start = START + timedelta(days=size.pre_drift_days)
        config = WorldConfig(
            start=START,
            days=size.pre_drift_days + size.drift_days,
            tx_per_day=size.tx_per_day,
            drift=DriftSchedule.case_study(drift_start, size.drift_days),
        )
        world = simulate_world(config, seed)
        tx = world.transactions.reset_index(drop=True)
        return cls(size, seed, tx, world.is_fraud, amount_usd(tx))

    @property
    def drift_start(self) -> datetime:
        """Drift onset: midnight UTC after the last pre-drift day."""
        return datetime.combine(START, datetime.min.time(), UTC) + timedelta(
            days=self.size.pre_drift_days
        )

    @property
    def end(self) -> datetime:
        return self.drift_start + timedelta(days=self.size.drift_days)

    @cached_property
    def times(self) -> np.ndarray:
        """Event times as int64 nanoseconds since the epoch (sorted)."""
        return self.transactions["event_time"].array.asi8

    def rows_between(self, start: datetime, end: datetime) -> slice:
        """Row positions of the payments with event time in [start, end)."""
        lo, hi = np.searchsorted(self.times, [_ns(start), _ns(end)], side="left")
        return slice(int(lo), int(hi))

    @property
    def pre_drift(self) -> slice:
        return self.rows_between(
            datetime.combine(START, datetime.min.time(), UTC), self.drift_start
        )

    @property
    def drift(self) -> slice:
        return self.rows_between(self.drift_start, self.end)

    def drift_day(self, rows: slice | np.ndarray) -> np.ndarray:
        """Day of the drift period (0 = onset) of each row."""
        start = _ns(self.drift_start)
        return (self.times[rows] - start) // (86_400 * 10**9)

    def transaction_dicts(self, rows: slice) -> list[dict]:
        """The payments of `rows` as plain dicts (missing values None), ready for
        `Transaction.model_validate`."""
        frame = self.transactions.iloc[rows]
        columns = {}
        for name in frame.columns:
            values = frame[name]
            if name == "event_time":
                columns[name] = values.array.to_pydatetime().tolist()
                continue
            plain = values.astype(object).where(values.notna(), None).tolist()
            if name in ("account_age_days", "device_age_days"):
                plain = [None if v is None else int(v) for v in plain]
            columns[name] = plain
        names = list(columns)
        return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _ns(moment: datetime) -> int:
    return int(pd.Timestamp(moment).value)
