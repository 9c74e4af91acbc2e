"""Legitimate payments: who pays, where, how, how much and when, under the drift schedule."""

from __future__ import annotations

import numpy as np

from fraud_core.simulation import geography as geo
from fraud_core.simulation.config import WorldConfig
from fraud_core.simulation.population import (
    EXPANSION,
    HOME,
    VISITOR,
    VISITOR_SHARE,
    WALLET_USE_MEAN,
    Customers,
    Merchants,
)

NEVER = 10**6
KEYED_SHARE = 0.015
"""In-store card payments keyed in by hand (card not present): legitimate noise."""
OTHER_DEVICE_SHARE = 0.08
"""Digital payments from a device the customer rarely uses (first seen that day 40% of times)."""
BIG_TICKET_SHARE = 0.02
"""Payments 3-10x the customer's usual amount for the category."""
DEVICE_SLOTS = 64
"""Device keys: customer * 64 + device generation; the last slot is the wallet token."""
OTHER_DEVICE_KEY = 2 * 10**12
"""Rarely used devices: one key per payment, from here on."""


def local_hours(n: int, rng: np.random.Generator) -> np.ndarray:
    """Local time of day (hours) of legitimate payments: daytime, evening peak, rare nights."""
    kind = rng.choice(3, size=n, p=[0.69, 0.26, 0.05])
    hours = np.select(
        [kind == 0, kind == 1],
        [rng.normal(13.0, 3.5, n), rng.normal(19.5, 2.0, n)],
        rng.uniform(0.0, 24.0, n),
    )
    return np.mod(hours, 24.0)


def utc_seconds(local_hour: np.ndarray, utc_offset: np.ndarray) -> np.ndarray:
    """Second of the UTC day for a local hour (kept within the same UTC day)."""
    return (np.mod(local_hour - utc_offset, 24.0) * 3600).astype(np.int64)


def wallet_adoption_days(
    config: WorldConfig, customers: Customers, rng: np.random.Generator
) -> np.ndarray:
    """Day each customer starts paying by wallet (with a new token), following `wallet_share`.

    Adoption is permanent: a customer adopts once the adopted fraction passes their rank.
    """
    calendar = np.datetime64(config.start, "D") + np.arange(config.days)
    adopted = np.maximum.accumulate(config.drift.wallet_share.at(calendar) / WALLET_USE_MEAN)
    day = np.searchsorted(adopted, customers.wallet_rank, side="right")
    before_start = -rng.integers(30, 1500, len(customers))
    day = np.where(day == 0, before_start, np.where(day >= config.days, NEVER, day))
    return np.maximum(day, customers.open_day)


def _markets(config: WorldConfig, days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    calendar = np.datetime64(config.start, "D") + days
    expansion = config.drift.expansion_share.at(calendar)
    u = rng.random(len(days))
    return np.where(
        u < VISITOR_SHARE, VISITOR, np.where(u < VISITOR_SHARE + expansion, EXPANSION, HOME)
    ).astype(np.int8)


def _categories(customers: Customers, who: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(who)
    favourite = customers.favourites[who, rng.choice(3, size=n, p=[0.5, 0.3, 0.2])]
    general = rng.choice(len(geo.CATEGORIES), size=n, p=geo.CATEGORY_WEIGHT)
    return np.where(rng.random(n) < 0.65, favourite, general)


def _abroad(market: np.ndarray, digital: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Whether a payment goes to a home-market merchant outside the customer's country:
    rare for home customers, most online purchases of new-market customers, always for visitors.
    """
    u = rng.random(len(market))
    return np.select(
        [market == HOME, market == EXPANSION],
        [u < np.where(digital, 0.08, 0.01), digital & (u < 0.8)],
        True,
    )


def _devices(
    customers: Customers,
    who: np.ndarray,
    days: np.ndarray,
    wallet: np.ndarray,
    digital: np.ndarray,
    adoption: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Device key (-1: none) and age in days: wallet token, primary device, or a rare other one.

    Customers replace their primary device every `device_cycle` days; a token is as old as the
    customer's wallet adoption.
    """
    n = len(who)
    elapsed = days - customers.open_day[who]
    cycle, phase = customers.device_cycle[who], customers.device_phase[who]
    generation = np.where(elapsed < phase, 0, 1 + np.floor((elapsed - phase) / cycle))
    since = np.where(generation == 0, 0.0, phase + (generation - 1) * cycle)
    age = np.floor(np.maximum(elapsed - since, 0.0))
    key = who * DEVICE_SLOTS + np.minimum(generation, DEVICE_SLOTS - 2).astype(np.int64)

    other = digital & ~wallet & (rng.random(n) < OTHER_DEVICE_SHARE)
    age = np.where(other, rng.geometric(0.4, n) - 1.0, age)
    key = np.where(other, OTHER_DEVICE_KEY + np.arange(n), key)

    token_age = np.maximum(days - adoption[who], 0).astype(np.float64)
    age = np.where(wallet, token_age, np.where(digital, age, np.nan))
    key = np.where(wallet, who * DEVICE_SLOTS + DEVICE_SLOTS - 1, np.where(digital, key, -1))
    return key, age


def legit_rows(
    config: WorldConfig,
    days: np.ndarray,
    customers: Customers,
    merchants: Merchants,
    adoption: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """One legitimate payment per entry of `days` (day indices), as columns of codes/values."""
    n = len(days)
    market = _markets(config, days, rng)
    who = np.empty(n, dtype=np.int64)
    for code in np.unique(market):
        rows = market == code
        who[rows] = customers.sample(int(code), days[rows], rng)
    category = _categories(customers, who, rng)

    p_digital = np.clip(geo.CATEGORY_ONLINE[category] * 2 * customers.digital[who], 0.01, 0.98)
    digital = rng.random(n) < p_digital
    app = rng.random(n) < customers.app_share[who]
    channel = np.where(digital, np.where(app, geo.MOBILE_APP, geo.ONLINE), geo.IN_STORE)

    provider = customers.wallet[who]
    wallet = (days >= adoption[who]) & (rng.random(n) < customers.wallet_use[who])
    u = rng.random(n)
    bank_share = np.where(market == EXPANSION, 0.2, 0.05)
    method = np.select(
        [wallet, digital & (u < bank_share), digital & (u < bank_share + 0.04)],
        [geo.WALLET, geo.BANK_TRANSFER, geo.BNPL],
        geo.CARD,
    )
    card_present = ~digital & (method == geo.CARD) & (rng.random(n) > KEYED_SHARE)

    own = customers.country[who]
    abroad = _abroad(market, digital, rng)
    shopping = abroad & digital  # online from abroad: marketplaces, electronics, fashion...
    category[shopping] = rng.choice(len(geo.CATEGORIES), shopping.sum(), p=geo.CROSS_BORDER_WEIGHT)
    merchant_country = np.where(abroad, geo.HOME.draw(n, rng), own)
    merchant = merchants.pick(merchant_country, category, rng)
    device, device_age = _devices(customers, who, days, wallet, digital, adoption, rng)

    calendar = np.datetime64(config.start, "D") + days
    big = np.where(rng.random(n) < BIG_TICKET_SHARE, rng.uniform(3.0, 10.0, n), 1.0)
    amount = customers.spend_usd[who] * geo.CATEGORY_AMOUNT[category] * big
    amount *= rng.lognormal(0.0, 0.6, n) * config.drift.amount_scale.at(calendar)

    offset = customers.utc_offset[who]
    travelling = (market == VISITOR) & ~digital  # in a shop abroad: the merchant's local time
    offset[travelling] = geo.UTC_OFFSET[merchants.country[merchant[travelling]]]
    return {
        "day": days,
        "second": utc_seconds(local_hours(n, rng), offset),
        "amount_usd": amount,
        "customer": who,
        "card": who,
        "account_age_days": customers.account_age(who, days),
        "method": method,
        "wallet": np.where(wallet, provider, -1),
        "card_present": card_present,
        "merchant": merchant,
        "country": own,
        "channel": channel,
        "device": device,
        "device_age_days": device_age,
        "scenario": np.zeros(n, dtype=np.int64),
        "market": market.astype(np.int64),
    }
