"""Customers and merchants of a simulated world, drawn once per world."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from fraud_core.simulation import geography as geo
from fraud_core.simulation.config import WorldConfig

HOME, EXPANSION, VISITOR, NO_MARKET = 0, 1, 2, 3
MARKETS = ("home", "expansion", "visitor", "none")
"""Customer markets; `none` marks identities made up by fraudsters."""
VISITOR_SHARE = 0.0025
"""Share of legitimate traffic from foreign customers before the expansion (field notes)."""
TX_PER_CUSTOMER_DAY = 0.2
WALLET_USE_MEAN = 0.8
"""Mean share of an adopter's payments made with the wallet (Beta(8, 2))."""


def opaque_ids(prefix: str, seed: int, keys: np.ndarray) -> np.ndarray:
    """Stable opaque identifiers (like hashed card or device ids) for distinct integer keys."""
    return np.array(
        [
            prefix + hashlib.blake2b(f"{seed}:{prefix}{key}".encode(), digest_size=8).hexdigest()
            for key in keys.tolist()
        ],
        dtype=object,
    )


@dataclass(frozen=True)
class Customers:
    """One row per customer: where they live, since when, and how they pay."""

    market: np.ndarray
    country: np.ndarray
    utc_offset: np.ndarray
    open_day: np.ndarray
    activity: np.ndarray
    spend_usd: np.ndarray
    digital: np.ndarray
    app_share: np.ndarray
    favourites: np.ndarray
    wallet_rank: np.ndarray
    wallet_use: np.ndarray
    wallet: np.ndarray
    device_cycle: np.ndarray
    device_phase: np.ndarray

    def __len__(self) -> int:
        return len(self.market)

    def sample(self, market: int, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """For each day index in `days`, a customer of `market` open by then, by activity.

        On a day before the market's first customer opened, that customer is used.
        """
        members = np.flatnonzero(self.market == market)
        members = members[np.argsort(self.open_day[members], kind="stable")]
        opened = np.maximum(np.searchsorted(self.open_day[members], days, side="right"), 1)
        cumulative = np.cumsum(self.activity[members])
        target = rng.random(len(days)) * cumulative[opened - 1]
        picked = np.searchsorted(cumulative, target, side="right")
        return members[np.minimum(picked, opened - 1)]

    def account_age(self, index: np.ndarray, days: np.ndarray) -> np.ndarray:
        return np.maximum(days - self.open_day[index], 0)


def _acquisition_days(share: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """Opening days that make a market's customer base grow like its traffic share.

    The base behind the first day's share opened during the year before; everyone else opens on
    a day the share grows, in proportion to the growth (the first such day gets at least one).
    """
    growth = np.diff(share, prepend=0.0).clip(min=0.0)
    day = rng.choice(len(share), size=count, p=growth / growth.sum())
    day[0] = np.flatnonzero(growth)[0]
    return np.where(day == 0, -rng.integers(0, 365, count), day)


def draw_customers(config: WorldConfig, rng: np.random.Generator) -> Customers:
    """Home-market customers, new-market customers (acquired as the expansion ramps), visitors."""
    calendar = np.datetime64(config.start, "D") + np.arange(config.days)
    expansion_share = config.drift.expansion_share.at(calendar)
    n_home = int(config.tx_per_day / TX_PER_CUSTOMER_DAY)
    n_exp = int(expansion_share.max() * config.tx_per_day / TX_PER_CUSTOMER_DAY)
    n_vis = max(20, int(VISITOR_SHARE * config.tx_per_day * 30))
    n = n_home + n_exp + n_vis
    market = np.repeat(np.array([HOME, EXPANSION, VISITOR], dtype=np.int8), [n_home, n_exp, n_vis])
    country = np.concatenate(
        [geo.HOME.draw(n_home, rng), geo.EXPANSION.draw(n_exp, rng), geo.VISITORS.draw(n_vis, rng)]
    )
    utc_offset = geo.UTC_OFFSET[country]
    wide = np.isin(country, [geo.COUNTRIES.index("US"), geo.COUNTRIES.index("CA")])
    utc_offset[wide] += rng.integers(-2, 2, wide.sum())  # several time zones

    acquired = rng.random(n_home) < 0.12
    home_open = np.where(
        acquired, rng.integers(0, config.days, n_home), -rng.integers(1, 3000, n_home)
    )
    exp_open = _acquisition_days(expansion_share, n_exp, rng) if n_exp else np.zeros(0, np.int64)
    open_day = np.concatenate([home_open, exp_open, -rng.integers(30, 3000, n_vis)])

    digital = np.select(
        [market == HOME, market == EXPANSION], [rng.beta(2, 3, n), rng.beta(8, 2, n)],
        rng.beta(1, 6, n),
    )  # fmt: skip
    spend = rng.lognormal(np.log(35.0), 0.7, n) * np.where(market == VISITOR, 1.7, 1.0)
    wallet = rng.choice(len(geo.GLOBAL_WALLET_WEIGHT), n, p=geo.GLOBAL_WALLET_WEIGHT)
    local = geo.LOCAL_WALLET_OF[country]
    wallet = np.where((local >= 0) & (rng.random(n) < 0.5), local, wallet)
    cycle = rng.uniform(365, 1100, n)
    return Customers(
        market=market,
        country=country,
        utc_offset=utc_offset,
        open_day=open_day,
        activity=rng.gamma(1.5, 1.0, n),
        spend_usd=spend,
        digital=digital,
        app_share=rng.beta(2, 2, n),
        favourites=rng.choice(len(geo.CATEGORIES), size=(n, 3), p=geo.CATEGORY_WEIGHT),
        wallet_rank=rng.random(n),
        wallet_use=rng.beta(8, 2, n),
        wallet=wallet,
        device_cycle=cycle,
        device_phase=rng.uniform(0, cycle),
    )


@dataclass(frozen=True)
class Merchants:
    """Merchants by country and category, with a skewed popularity within each group."""

    country: np.ndarray
    category: np.ndarray
    group_lo: np.ndarray
    group_hi: np.ndarray
    cumulative: np.ndarray

    def __len__(self) -> int:
        return len(self.country)

    def pick(
        self, country: np.ndarray, category: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """A merchant for each (country, category) pair of codes, by popularity."""
        group = country * len(geo.CATEGORIES) + category
        lo, hi = self.group_lo[group], self.group_hi[group]
        if (hi <= lo).any():
            missing = sorted({geo.COUNTRIES[c] for c in country[hi <= lo]})
            raise ValueError(f"no merchants in {missing}")
        return np.searchsorted(self.cumulative, lo + rng.random(len(group)) * (hi - lo), "right")

    def ids(self, seed: int) -> np.ndarray:
        country = np.array(geo.COUNTRIES, dtype=object)[self.country]
        return np.array(
            [f"mer-{c}-{seed}-{i}" for i, c in enumerate(country.tolist())], dtype=object
        )


def draw_merchants(config: WorldConfig, rng: np.random.Generator) -> Merchants:
    """Merchants of the home and new markets: some in every country and category."""
    n_cat = len(geo.CATEGORIES)
    share = np.zeros(len(geo.COUNTRIES))
    share[geo.HOME.codes] = geo.HOME.weights
    share[geo.EXPANSION.codes] += geo.EXPANSION.weights
    scale = config.tx_per_day * 0.25
    counts = np.outer(share, geo.CATEGORY_WEIGHT) * scale
    counts = np.where(share[:, None] > 0, np.maximum(np.round(counts), 1), 0).astype(np.int64)
    group = np.repeat(np.arange(counts.size), counts.ravel())
    cumulative = np.cumsum(rng.pareto(1.5, group.size) + 1.0)
    ends = np.cumsum(counts.ravel())
    hi = np.concatenate([[0.0], cumulative])[ends]
    lo = np.concatenate([[0.0], hi[:-1]])
    return Merchants(
        country=group // n_cat,
        category=group % n_cat,
        group_lo=lo,
        group_hi=hi,
        cumulative=cumulative,
    )
