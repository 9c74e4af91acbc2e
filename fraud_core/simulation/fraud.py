"""Fraud scenarios: what a fraudulent payment looks like, and how fraudsters adapt to wallets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_core.simulation import geography as geo
from fraud_core.simulation.config import WorldConfig
from fraud_core.simulation.legit import local_hours, utc_seconds
from fraud_core.simulation.population import (
    EXPANSION,
    HOME,
    NO_MARKET,
    Customers,
    Merchants,
)

SCENARIOS = (
    "wallet_provisioning",
    "account_takeover",
    "card_testing",
    "cross_border",
    "first_purchase",
    "compromised_merchant",
)
SCENARIO_SHARE = np.array([0.36, 0.16, 0.14, 0.14, 0.10, 0.10])
"""Pre-drift mix. Wallet provisioning: a stolen card added to a fraudster's wallet (new token)."""
MOVES_TO_WALLET = ("account_takeover", "card_testing", "cross_border", "first_purchase")
NEW_TOKEN_SHARE = 0.8
"""Share of wallet fraud paid from a token provisioned that day (the rest: up to 90 days old)."""
COMPROMISED_SHARE = 0.005
"""Share of home-market shops (fuel, restaurants, grocery, electronics, fashion) compromised."""
FRAUD_DEVICE_KEY = 10**12
"""Fraudsters' devices: keys from here on, never a customer's (see `legit.DEVICE_SLOTS`)."""


def _mix(names_weights: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    index = np.array([geo.CATEGORIES.index(k) for k in names_weights])
    weights = np.array(list(names_weights.values()))
    return index, weights / weights.sum()


CATEGORY_MIX = {
    "wallet_provisioning": _mix({"electronics": 0.35, "gift_cards": 0.2, "marketplace": 0.2,
                                 "fashion": 0.1, "travel": 0.05, "digital_goods": 0.1}),
    "account_takeover": _mix({"electronics": 0.3, "gift_cards": 0.2, "travel": 0.15,
                              "digital_goods": 0.15, "marketplace": 0.2}),
    "card_testing": _mix({"digital_goods": 0.5, "gaming": 0.25, "marketplace": 0.15,
                          "gift_cards": 0.1}),
    "cross_border": _mix({"electronics": 0.3, "marketplace": 0.2, "gift_cards": 0.15,
                          "travel": 0.15, "fashion": 0.1, "digital_goods": 0.1}),
    "first_purchase": _mix({"electronics": 0.4, "travel": 0.2, "gift_cards": 0.2,
                            "fashion": 0.1, "marketplace": 0.1}),
}  # fmt: skip
AMOUNT_USD = {
    "wallet_provisioning": (280.0, 0.8),
    "account_takeover": (450.0, 0.7),
    "cross_border": (220.0, 0.9),
    "first_purchase": (700.0, 0.6),
    "compromised_merchant": (120.0, 0.7),
}
"""Median and log-sd of amounts; card testing uses 0.5-5 USD."""


@dataclass
class _Fill:
    """Writes one scenario's columns into the fraud rows `out`."""

    config: WorldConfig
    customers: Customers
    merchants: Merchants
    rng: np.random.Generator
    out: dict[str, np.ndarray]

    def victims(self, rows: np.ndarray) -> np.ndarray:
        """Real customers whose card or account is abused, drawn like legitimate traffic."""
        days = self.out["day"][rows]
        share = self.config.drift.expansion_share.at(np.datetime64(self.config.start, "D") + days)
        market = np.where(self.rng.random(len(rows)) < share, EXPANSION, HOME)
        who = np.empty(len(rows), dtype=np.int64)
        for code in np.unique(market):
            on = market == code
            who[on] = self.customers.sample(int(code), days[on], self.rng)
        c = self.customers
        self.out["customer"][rows] = who
        self.out["card"][rows] = who
        self.out["account_age_days"][rows] = c.account_age(who, days)
        self.out["country"][rows] = c.country[who]
        self.out["market"][rows] = c.market[who]
        return who

    def synthetic(self, rows: np.ndarray, country: np.ndarray, age: np.ndarray) -> None:
        """Identities made up by fraudsters (fresh accounts, foreign stolen cards)."""
        self.out["customer"][rows] = len(self.customers) + rows
        self.out["card"][rows] = len(self.customers) + rows
        self.out["account_age_days"][rows] = age
        self.out["country"][rows] = country
        self.out["market"][rows] = NO_MARKET

    def merchant(self, rows: np.ndarray, country: np.ndarray, scenario: str) -> None:
        index, weights = CATEGORY_MIX[scenario]
        category = self.rng.choice(index, size=len(rows), p=weights)
        self.out["merchant"][rows] = self.merchants.pick(country, category, self.rng)

    def domestic_or_home(self, rows: np.ndarray, domestic_share: float) -> np.ndarray:
        own = self.out["country"][rows]
        domestic = self.rng.random(len(rows)) < domestic_share
        return np.where(domestic, own, geo.HOME.draw(len(rows), self.rng))

    def digital(self, rows: np.ndarray, app_share: float) -> None:
        app = self.rng.random(len(rows)) < app_share
        self.out["channel"][rows] = np.where(app, geo.MOBILE_APP, geo.ONLINE)

    def new_device(self, rows: np.ndarray, new_share: float, max_age: int) -> None:
        new = self.rng.random(len(rows)) < new_share
        age = np.where(new, 0, self.rng.integers(1, max_age + 1, len(rows)))
        self.out["device_age_days"][rows] = age
        self.out["device"][rows] = FRAUD_DEVICE_KEY + rows

    def wallet(self, rows: np.ndarray) -> None:
        """Pay with a stolen card provisioned into a global wallet: a fresh token mostly."""
        self.out["method"][rows] = geo.WALLET
        self.out["wallet"][rows] = self.rng.choice(3, len(rows), p=[0.5, 0.4, 0.1])
        self.new_device(rows, NEW_TOKEN_SHARE, 90)

    def amount(self, rows: np.ndarray, scenario: str) -> None:
        median, sigma = AMOUNT_USD[scenario]
        self.out["amount_usd"][rows] = self.rng.lognormal(np.log(median), sigma, len(rows))

    def hours(self, rows: np.ndarray, utc_offset: np.ndarray, night_share: float) -> None:
        n = len(rows)
        night = self.rng.random(n) < night_share
        hours = np.where(night, self.rng.normal(2.5, 2.5, n), self.rng.uniform(0, 24, n))
        self.out["second"][rows] = utc_seconds(np.mod(hours, 24.0), utc_offset)


def _wallet_provisioning(f: _Fill, rows: np.ndarray) -> None:
    who = f.victims(rows)
    f.merchant(rows, f.domestic_or_home(rows, 0.85), "wallet_provisioning")
    f.out["channel"][rows] = f.rng.choice(
        [geo.MOBILE_APP, geo.IN_STORE, geo.ONLINE], len(rows), p=[0.4, 0.3, 0.3]
    )
    f.wallet(rows)
    f.amount(rows, "wallet_provisioning")
    f.hours(rows, f.customers.utc_offset[who], 0.4)


def _account_takeover(f: _Fill, rows: np.ndarray) -> None:
    who = f.victims(rows)
    f.merchant(rows, f.domestic_or_home(rows, 0.7), "account_takeover")
    f.digital(rows, 0.4)
    f.out["method"][rows] = f.rng.choice(
        [geo.CARD, geo.BANK_TRANSFER, geo.BNPL], len(rows), p=[0.75, 0.15, 0.1]
    )
    f.new_device(rows, 0.85, 700)  # else a device seen before (remote access, emulators)
    f.amount(rows, "account_takeover")
    f.hours(rows, f.customers.utc_offset[who], 0.5)


def _card_testing(f: _Fill, rows: np.ndarray) -> None:
    """Bursts of tiny payments from one fresh account and device, a different card each
    (a burst takes the day of its first payment)."""
    n, rng = len(rows), f.rng
    burst = np.cumsum(rng.random(n) < 1 / 12)
    first = np.unique(burst, return_index=True)[1][burst - burst[0]]
    head = rows[first]
    f.out["day"][rows] = f.out["day"][head]
    foreign = rng.random(n) < 0.3
    country = np.where(foreign, geo.FRAUD_ORIGINS.draw(n, rng), geo.HOME.draw(n, rng))
    f.synthetic(rows, country, rng.integers(0, 15, n))
    for column in ("customer", "account_age_days", "country"):
        f.out[column][rows] = f.out[column][head]
    f.merchant(rows, geo.HOME.draw(n, rng), "card_testing")
    f.digital(rows, 0.2)
    f.out["method"][rows] = geo.CARD
    f.new_device(rows, 0.5, 2)
    for column in ("channel", "merchant", "device", "device_age_days"):
        f.out[column][rows] = f.out[column][head]
    f.out["amount_usd"][rows] = rng.uniform(0.5, 5.0, n)
    f.hours(rows, geo.UTC_OFFSET[f.out["country"][rows]], 0.3)
    step = np.arange(n) - first
    f.out["second"][rows] = np.minimum(f.out["second"][head] + step * 45, 86_399)


def _cross_border(f: _Fill, rows: np.ndarray) -> None:
    n, rng = len(rows), f.rng
    origin = geo.FRAUD_ORIGINS.draw(n, rng)
    f.synthetic(rows, origin, np.minimum(rng.lognormal(np.log(900), 0.8, n), 20_000))
    f.merchant(rows, geo.HOME.draw(n, rng), "cross_border")
    f.digital(rows, 0.25)
    f.out["method"][rows] = geo.CARD
    f.new_device(rows, 0.5, 365)  # device farms reuse devices for months
    f.amount(rows, "cross_border")
    f.hours(rows, geo.UTC_OFFSET[origin], 0.2)


def _first_purchase(f: _Fill, rows: np.ndarray) -> None:
    n, rng = len(rows), f.rng
    country = np.where(rng.random(n) < 0.15, geo.FRAUD_ORIGINS.draw(n, rng), geo.HOME.draw(n, rng))
    f.synthetic(rows, country, rng.integers(0, 4, n))
    domestic = np.isin(country, geo.HOME.codes)
    f.merchant(rows, np.where(domestic, country, geo.HOME.draw(n, rng)), "first_purchase")
    f.digital(rows, 0.3)
    f.out["method"][rows] = np.where(rng.random(n) < 0.2, geo.BNPL, geo.CARD)
    f.new_device(rows, 0.95, 3)
    f.amount(rows, "first_purchase")
    f.hours(rows, geo.UTC_OFFSET[country], 0.4)


def _compromised_merchant(f: _Fill, rows: np.ndarray) -> None:
    """Cloned cards used at a few compromised shops of the home market, in shop hours."""
    n, rng, m = len(rows), f.rng, f.merchants
    risky = [geo.CATEGORIES.index(k) for k in ("fuel", "restaurants", "grocery", "electronics",
                                               "fashion")]  # fmt: skip
    candidates = np.flatnonzero(np.isin(m.category, risky) & np.isin(m.country, geo.HOME.codes))
    compromised = rng.choice(candidates, max(5, int(COMPROMISED_SHARE * len(candidates))), False)
    f.victims(rows)
    merchant = rng.choice(compromised, n)
    f.out["merchant"][rows] = merchant
    f.out["channel"][rows] = geo.IN_STORE
    f.out["method"][rows] = geo.CARD
    f.out["card_present"][rows] = rng.random(n) < 0.3  # counterfeit card, or keyed in
    f.amount(rows, "compromised_merchant")
    f.out["second"][rows] = utc_seconds(local_hours(n, rng), geo.UTC_OFFSET[m.country[merchant]])


_SCENARIO_FILL = {
    "wallet_provisioning": _wallet_provisioning,
    "account_takeover": _account_takeover,
    "card_testing": _card_testing,
    "cross_border": _cross_border,
    "first_purchase": _first_purchase,
    "compromised_merchant": _compromised_merchant,
}


def fraud_rows(
    config: WorldConfig,
    days: np.ndarray,
    customers: Customers,
    merchants: Merchants,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """One fraudulent payment per entry of `days` (day indices), scenario by scenario.

    Identities made up by fraudsters get customer and card codes `len(customers) + row`.
    """
    n = len(days)
    scenario = rng.choice(len(SCENARIOS), n, p=SCENARIO_SHARE)
    out = {
        "day": days,
        "second": np.zeros(n, dtype=np.int64),
        "amount_usd": np.zeros(n),
        "customer": np.zeros(n, dtype=np.int64),
        "card": np.zeros(n, dtype=np.int64),
        "account_age_days": np.zeros(n, dtype=np.int64),
        "method": np.zeros(n, dtype=np.int64),
        "wallet": np.full(n, -1, dtype=np.int64),
        "card_present": np.zeros(n, dtype=bool),
        "merchant": np.zeros(n, dtype=np.int64),
        "country": np.zeros(n, dtype=np.int64),
        "channel": np.zeros(n, dtype=np.int64),
        "device": np.full(n, -1, dtype=np.int64),
        "device_age_days": np.full(n, np.nan),
        "scenario": scenario + 1,  # 0 is legit
        "market": np.zeros(n, dtype=np.int64),
    }
    fill = _Fill(config, customers, merchants, rng, out)
    for code, name in enumerate(SCENARIOS):
        rows = np.flatnonzero(scenario == code)
        if rows.size:
            _SCENARIO_FILL[name](fill, rows)

    calendar = np.datetime64(config.start, "D") + days
    movable = np.isin(scenario, [SCENARIOS.index(s) for s in MOVES_TO_WALLET])
    moved = movable & (rng.random(n) < config.drift.fraud_to_wallet.at(calendar))
    fill.wallet(np.flatnonzero(moved))  # fraudsters adapt: the same attack, from a fresh token
    out["amount_usd"] *= config.drift.amount_scale.at(calendar)
    return out
