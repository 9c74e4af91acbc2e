"""`simulate_world`: customers, merchants, and a daily stream of legitimate and fraud payments."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fraud_core.features import CHANNELS
from fraud_core.schema import USD_PER_UNIT
from fraud_core.simulation import geography as geo
from fraud_core.simulation.config import WorldConfig
from fraud_core.simulation.fraud import SCENARIOS, fraud_rows
from fraud_core.simulation.legit import legit_rows, wallet_adoption_days
from fraud_core.simulation.population import (
    MARKETS,
    draw_customers,
    draw_merchants,
    opaque_ids,
)

TRANSACTION_COLUMNS = (
    "transaction_id", "event_time", "amount", "currency", "customer_id", "account_age_days",
    "payment_method", "wallet_provider", "card_fingerprint", "card_present", "merchant_id",
    "merchant_category", "customer_country", "merchant_country", "channel", "device_id",
    "device_age_days",
)  # fmt: skip
"""The fields of `fraud_core.schema.Transaction`, in order."""
ORACLE_COLUMNS = ("transaction_id", "is_fraud", "scenario", "market")
"""Hidden truth, never given to a model: fraud or not, which scenario, which customer market."""
SCENARIO_NAMES = ("legit", *SCENARIOS)
CURRENCIES = tuple(sorted(set(geo.CURRENCY_OF)))


@dataclass(frozen=True)
class World:
    """A simulated history: what the platform sees, and the hidden truth row by row.

    `transactions` has exactly the Transaction columns, sorted by `event_time` (UTC, ns);
    string columns are pandas categoricals, `device_age_days` is float (NaN: no device).
    `oracle` is aligned with it row by row and shares `transaction_id`.
    """

    config: WorldConfig
    seed: int
    transactions: pd.DataFrame
    oracle: pd.DataFrame

    @property
    def is_fraud(self) -> np.ndarray:
        return self.oracle["is_fraud"].to_numpy()


def amount_usd(transactions: pd.DataFrame) -> np.ndarray:
    """Amounts of a Transaction frame in USD (settlement rates of `schema.USD_PER_UNIT`)."""
    rate = transactions["currency"].astype(str).map(USD_PER_UNIT).to_numpy(dtype=np.float64)
    return transactions["amount"].to_numpy(dtype=np.float64) * rate


def _local_amounts(amount_usd: np.ndarray, usd_per_unit: np.ndarray) -> np.ndarray:
    """Amounts in the merchant's currency, rounded to its minor unit (at least one unit)."""
    unit = np.where(usd_per_unit < 0.01, 1.0, 0.01)
    return np.maximum(np.round(amount_usd / usd_per_unit / unit) * unit, unit)


def _categorical(codes: np.ndarray, vocabulary: Sequence[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(vocabulary))


def _identifiers(keys: np.ndarray, name: Callable[[np.ndarray], np.ndarray]) -> pd.Categorical:
    """Identifier column from integer keys (-1: none), naming only the keys in use."""
    codes = np.full(len(keys), -1, dtype=np.int64)
    present = keys >= 0
    codes[present], used = pd.factorize(keys[present])
    return pd.Categorical.from_codes(codes, categories=name(used))


def simulate_world(config: WorldConfig | None = None, seed: int = 0) -> World:
    """Draw a world from `config` (default: a pre-drift year, then the case study's drift).

    The same config and seed give the same world, row for row.
    """
    config = config or WorldConfig()
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    population = _population(config, streams[0])
    return _world(config, seed, np.arange(config.days), population, streams[1], streams[2])


def simulate_days(config: WorldConfig, seed: int = 0, chunk_days: int = 1) -> Iterator[World]:
    """The same world as `simulate_world` (customers, merchants, fraud counts per day), drawn
    `chunk_days` at a time so that memory holds one chunk: each chunk's payments come from
    their own random streams, so rows differ from `simulate_world`'s, not their distribution.
    Transaction ids are those `simulate_world` would number."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)]
    population = _population(config, streams[0])
    for first in range(0, config.days, chunk_days):
        day = np.arange(first, min(first + chunk_days, config.days))
        legit, fraud = (np.random.default_rng([seed, first, k]) for k in (1, 2))
        yield _world(config, seed, day, population, legit, fraud)


def _population(config: WorldConfig, rng: np.random.Generator) -> tuple:
    """Customers, merchants, wallet adoption days and fraud count per day."""
    customers = draw_customers(config, rng)
    merchants = draw_merchants(config, rng)
    adoption = wallet_adoption_days(config, customers, rng)
    n_fraud = rng.binomial(config.tx_per_day, config.fraud_rate, config.days)
    return customers, merchants, adoption, n_fraud


def _world(
    config: WorldConfig,
    seed: int,
    day: np.ndarray,
    population: tuple,
    legit_rng: np.random.Generator,
    fraud_rng: np.random.Generator,
) -> World:
    """The payments of days `day` (ascending day indices)."""
    customers, merchants, adoption, n_fraud = population
    n_fraud = n_fraud[day]
    legit = legit_rows(
        config, np.repeat(day, config.tx_per_day - n_fraud), customers, merchants, adoption,
        legit_rng,
    )  # fmt: skip
    fraud = fraud_rows(config, np.repeat(day, n_fraud), customers, merchants, fraud_rng)
    order = np.lexsort((np.concatenate([legit["second"], fraud["second"]]),
                        np.concatenate([legit["day"], fraud["day"]])))  # fmt: skip
    rows = {key: np.concatenate([legit[key], fraud[key]])[order] for key in legit}

    n_customers = len(customers)

    def customer_ids(keys: np.ndarray) -> list[str]:
        return [
            f"cus-{seed}-{k}" if k < n_customers else f"cus-{seed}-x{k - n_customers}"
            for k in keys.tolist()
        ]

    merchant_country = merchants.country[rows["merchant"]]
    currency = pd.Index(CURRENCIES).get_indexer(geo.CURRENCY_OF)[merchant_country]
    usd_per_unit = np.array([USD_PER_UNIT[c] for c in CURRENCIES])[currency]
    seconds = rows["day"] * 86_400 + rows["second"]
    event_time = pd.to_datetime(
        np.datetime64(config.start, "s") + seconds.astype("timedelta64[s]"), utc=True
    ).as_unit("ns")
    prefix = f"tx-{seed}-{config.start:%Y%m%d}-"
    first = int(day[0]) * config.tx_per_day if len(day) else 0
    ids = [prefix + str(i) for i in range(first, first + len(order))]
    transactions = pd.DataFrame(
        {
            "transaction_id": ids,
            "event_time": event_time,
            "amount": _local_amounts(rows["amount_usd"], usd_per_unit),
            "currency": _categorical(currency, CURRENCIES),
            "customer_id": _identifiers(rows["customer"], customer_ids),
            "account_age_days": rows["account_age_days"].astype(np.int64),
            "payment_method": _categorical(rows["method"], geo.METHODS),
            "wallet_provider": _categorical(rows["wallet"], geo.WALLETS),
            "card_fingerprint": _identifiers(rows["card"], lambda k: opaque_ids("card-", seed, k)),
            "card_present": rows["card_present"],
            "merchant_id": _categorical(rows["merchant"], merchants.ids(seed)),
            "merchant_category": _categorical(merchants.category[rows["merchant"]], geo.CATEGORIES),
            "customer_country": _categorical(rows["country"], geo.COUNTRIES),
            "merchant_country": _categorical(merchant_country, geo.COUNTRIES),
            "channel": _categorical(rows["channel"], CHANNELS),
            "device_id": _identifiers(rows["device"], lambda k: opaque_ids("dev-", seed, k)),
            "device_age_days": rows["device_age_days"].astype(np.float64),
        },
        columns=list(TRANSACTION_COLUMNS),
    )
    oracle = pd.DataFrame(
        {
            "transaction_id": ids,
            "is_fraud": rows["scenario"] > 0,
            "scenario": _categorical(rows["scenario"], SCENARIO_NAMES),
            "market": _categorical(rows["market"], MARKETS),
        },
        columns=list(ORACLE_COLUMNS),
    )
    return World(config=config, seed=seed, transactions=transactions, oracle=oracle)
