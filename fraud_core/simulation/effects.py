"""Effect sizes of the drift, measured from generated data (first window vs last window)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from fraud_core.simulation.world import World, amount_usd


@dataclass(frozen=True)
class Shift:
    before: float
    after: float


@dataclass(frozen=True)
class DriftEffects:
    """Each drift as measured in the world's first and last `window_days`."""

    window_days: int
    amount_ratio: float
    """Mean legitimate amount (USD) of home-market customers, last window / first window."""
    amount_ratio_all: float
    """The same over all legitimate payments: inflation plus the new markets' purchase mix."""
    wallet_share: Shift
    """Share of legitimate payments made with a digital wallet."""
    expansion_share: Shift
    """Share of legitimate payments from customers of the new markets."""
    foreign_share: Shift
    """Share of legitimate payments by customers outside the home market (visitors included)."""
    fraud_wallet_share: Shift
    """Share of fraudulent payments made with a digital wallet."""
    fraud_rate: Shift

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def measure_effects(world: World, window_days: int = 14) -> DriftEffects:
    """Measure every drift of `world` by comparing its first and last `window_days`."""
    tx, oracle = world.transactions, world.oracle
    day = (tx["event_time"] - tx["event_time"].iloc[0].normalize()).dt.days.to_numpy()
    windows = (day < window_days, day > day.max() - window_days)
    fraud = oracle["is_fraud"].to_numpy()
    wallet = (tx["payment_method"] == "digital_wallet").to_numpy()
    market = oracle["market"].astype(str).to_numpy()
    amounts = amount_usd(tx)

    def shift(values: np.ndarray, among: np.ndarray) -> Shift:
        before, after = (float(values[w & among].mean()) for w in windows)
        return Shift(before, after)

    def ratio(among: np.ndarray) -> float:
        first, last = (float(amounts[w & among].mean()) for w in windows)
        return last / first

    legit = ~fraud
    return DriftEffects(
        window_days=window_days,
        amount_ratio=ratio(legit & (market == "home")),
        amount_ratio_all=ratio(legit),
        wallet_share=shift(wallet, legit),
        expansion_share=shift(market == "expansion", legit),
        foreign_share=shift(market != "home", legit),
        fraud_wallet_share=shift(wallet, fraud),
        fraud_rate=shift(fraud, np.ones(len(fraud), dtype=bool)),
    )
