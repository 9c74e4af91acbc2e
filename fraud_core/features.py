"""THE feature pipeline: one vectorised function for training and serving alike.

`featurize(tx)` (one Transaction) and `featurize_frame(df)` (a DataFrame of them) both go
through `_featurize_columns`, so a row scored online gets exactly the vector it was trained on.
Unseen categories (a new country, a new wallet) fall into an explicit `other` bucket.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.schema import USD_PER_UNIT, Transaction

if TYPE_CHECKING:
    import pandas as pd

PAYMENT_METHODS = ("card", "digital_wallet", "bank_transfer", "bnpl")
WALLETS = ("apple_pay", "google_pay", "samsung_pay", "paypal")
CHANNELS = ("online", "in_store", "mobile_app")
REGIONS = ("europe", "north_america", "latin_america", "asia_pacific", "middle_east_africa")
MERCHANT_CATEGORIES = (
    "grocery", "restaurants", "fuel", "travel", "electronics", "fashion",
    "digital_goods", "gaming", "gift_cards", "marketplace", "utilities", "health",
)  # fmt: skip
_REGION_COUNTRIES = {
    "europe": "DE FR GB IE ES IT PT NL BE LU AT CH SE NO DK FI PL CZ SK HU RO BG GR HR SI "
    "EE LV LT IS MT CY UA RS",
    "north_america": "US CA",
    "latin_america": "MX BR AR CL CO PE UY EC BO PY VE CR PA DO GT",
    "asia_pacific": "JP CN HK TW KR SG AU NZ IN ID MY TH PH VN PK BD LK",
    "middle_east_africa": "AE SA QA KW BH OM IL TR EG MA TN DZ NG KE GH ZA ET",
}
COUNTRY_REGION = {c: r for r, codes in _REGION_COUNTRIES.items() for c in codes.split()}
AMOUNT_BANDS = ((50.0, "small"), (500.0, "medium"), (float("inf"), "large"))
NEW_ACCOUNT_DAYS = 90
_BAND_UPPERS = np.array([upper for upper, _ in AMOUNT_BANDS])
_BAND_NAMES = np.array([name for _, name in AMOUNT_BANDS], dtype=object)
SECONDS_PER_DAY = 86_400

_INPUT_COLUMNS = (
    "event_time", "amount", "currency", "account_age_days", "payment_method",
    "wallet_provider", "card_present", "merchant_category", "customer_country",
    "merchant_country", "channel", "device_age_days",
)  # fmt: skip
_OPTIONAL = ("wallet_provider", "device_age_days")


def _one_hot(prefix: str, vocabulary: Sequence[str], other: bool) -> list[str]:
    return [f"{prefix}_{v}" for v in vocabulary] + ([f"{prefix}_other"] if other else [])


FEATURE_NAMES: tuple[str, ...] = (
    "amount_usd",
    "amount_usd_log",
    "account_age_days_log",
    "is_new_account",
    "card_present",
    "is_cross_border",
    "hour_sin",
    "hour_cos",
    "is_weekend",
    "device_age_days_log",
    "device_age_missing",
    "is_new_device",
    *_one_hot("pm", PAYMENT_METHODS, other=False),
    *_one_hot("wallet", WALLETS, other=True),
    *_one_hot("channel", CHANNELS, other=False),
    *_one_hot("customer_region", REGIONS, other=True),
    *_one_hot("merchant_region", REGIONS, other=True),
    *_one_hot("mcc", MERCHANT_CATEGORIES, other=True),
)


class FeatureSpecMismatch(ValueError):
    """A model was trained on a different feature pipeline than the one serving it."""


@dataclass(frozen=True)
class FeatureSpec:
    """Ordered names, dtype and vocabularies of the feature vector; `version` hashes them."""

    names: tuple[str, ...]
    dtype: str = "float32"
    vocabularies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @cached_property  # hashed once: the scorer stamps it on every logged prediction
    def version(self) -> str:
        payload = json.dumps(
            {"names": self.names, "dtype": self.dtype, "vocabularies": self.vocabularies},
            sort_keys=True,
            default=list,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "dtype": self.dtype,
            "vocabularies": {k: list(v) for k, v in self.vocabularies.items()},
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        return cls(
            names=tuple(data["names"]),
            dtype=data.get("dtype", "float32"),
            vocabularies={k: tuple(v) for k, v in data.get("vocabularies", {}).items()},
        )

    def check_compatible(self, saved: Mapping[str, Any] | FeatureSpec) -> None:
        """Raise FeatureSpecMismatch unless `saved` (a model's spec) equals this pipeline's."""
        other = saved if isinstance(saved, FeatureSpec) else FeatureSpec.from_dict(saved)
        if other.version == self.version:
            return
        missing = [n for n in self.names if n not in other.names]
        extra = [n for n in other.names if n not in self.names]
        detail = (
            f"missing {missing}, unexpected {extra}"
            if missing or extra
            else "same names, different order, dtype or vocabularies"
        )
        raise FeatureSpecMismatch(
            f"feature spec {other.version} does not match the pipeline's {self.version}: {detail}"
        )


FEATURE_SPEC = FeatureSpec(
    names=FEATURE_NAMES,
    vocabularies={
        "payment_method": PAYMENT_METHODS,
        "wallet": WALLETS,
        "channel": CHANNELS,
        "region": REGIONS,
        "regions": tuple(f"{c}:{r}" for c, r in sorted(COUNTRY_REGION.items())),
        "merchant_category": MERCHANT_CATEGORIES,
        "amount_bands": tuple(f"{u}:{n}" for u, n in AMOUNT_BANDS),
    },
)


def _onehot_index(
    prefix: str, vocabulary: Sequence[str], other: bool, key: Mapping[str, str] | None = None
) -> tuple[dict[str, int], int | None]:
    """(input column, value -> feature index, index of `other` or None) of a one-hot group;
    `key` maps an input value to its vocabulary entry first (countries -> regions)."""
    index = {v: FEATURE_NAMES.index(f"{prefix}_{v}") for v in vocabulary}
    if key is not None:
        index = {value: index[entry] for value, entry in key.items() if entry in index}
    return index, (FEATURE_NAMES.index(f"{prefix}_other") if other else None)


def _epoch_seconds(values: Any) -> np.ndarray:
    """Whole UTC seconds since the epoch, whatever the resolution of the timestamps."""
    import pandas as pd

    times = pd.to_datetime(pd.Series(values), utc=True).dt.as_unit("ns")
    return (times.astype("int64").to_numpy() // 10**9).astype(np.float64)


def _featurize_columns(cols: Mapping[str, Any], epoch: np.ndarray) -> np.ndarray:
    n = len(epoch)
    obj = {
        k: np.asarray(cols[k], dtype=object)
        for k in ("currency", "payment_method", "wallet_provider", "merchant_category",
                  "customer_country", "merchant_country", "channel")
    }  # fmt: skip
    rate = np.array([USD_PER_UNIT[c] for c in obj["currency"]], dtype=np.float64)
    amount_usd = np.asarray(cols["amount"], dtype=np.float64) * rate
    account_age = np.asarray(cols["account_age_days"], dtype=np.float64)
    device_age = np.array(
        [np.nan if v is None else v for v in cols["device_age_days"]], dtype=np.float64
    ).reshape(n)
    device_missing = np.isnan(device_age)
    hour = (epoch % SECONDS_PER_DAY) / 3600.0
    weekday = ((epoch // SECONDS_PER_DAY) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    out = np.zeros((n, len(FEATURE_NAMES)), dtype=np.float32)
    numeric = (
        amount_usd,
        np.log1p(amount_usd),
        np.log1p(account_age),
        account_age < NEW_ACCOUNT_DAYS,
        np.asarray(cols["card_present"], dtype=bool),
        obj["customer_country"] != obj["merchant_country"],
        np.sin(2 * np.pi * hour / 24),
        np.cos(2 * np.pi * hour / 24),
        weekday >= 5,
        np.where(device_missing, -1.0, np.log1p(np.nan_to_num(device_age))),
        device_missing,
        ~device_missing & (np.nan_to_num(device_age, nan=1e9) < 1),
    )
    for i, column in enumerate(numeric):
        out[:, i] = column
    for column, (index, other) in _ONE_HOT.items():
        hot = [index.get(v, other) if v is not None else None for v in obj[column]]
        rows = [r for r, h in enumerate(hot) if h is not None]
        out[rows, [hot[r] for r in rows]] = 1.0
    return out


_ONE_HOT = {  # input column -> (value -> feature index, index of `other`)
    "payment_method": _onehot_index("pm", PAYMENT_METHODS, other=False),
    "wallet_provider": _onehot_index("wallet", WALLETS, other=True),
    "channel": _onehot_index("channel", CHANNELS, other=False),
    "customer_country": _onehot_index("customer_region", REGIONS, other=True, key=COUNTRY_REGION),
    "merchant_country": _onehot_index("merchant_region", REGIONS, other=True, key=COUNTRY_REGION),
    "merchant_category": _onehot_index("mcc", MERCHANT_CATEGORIES, other=True),
}


def featurize(tx: Transaction) -> np.ndarray:
    """The feature vector (1-D float32, FEATURE_NAMES order) of one transaction."""
    cols = {k: [getattr(tx, k)] for k in _INPUT_COLUMNS}
    epoch = np.array([tx.event_time.timestamp()], dtype=np.float64)
    return _featurize_columns(cols, np.floor(epoch))[0]


def featurize_many(transactions: Sequence[Transaction]) -> np.ndarray:
    """Feature matrix (n x d float32) of several Transactions."""
    cols = {k: [getattr(tx, k) for tx in transactions] for k in _INPUT_COLUMNS}
    epoch = np.floor(np.array([tx.event_time.timestamp() for tx in transactions]))
    return _featurize_columns(cols, epoch)


def featurize_frame(df: pd.DataFrame) -> np.ndarray:
    """Feature matrix (n x d float32) of a DataFrame with the Transaction columns.

    Optional columns (`wallet_provider`, `device_age_days`) may be absent or null.
    """
    missing = [c for c in _INPUT_COLUMNS if c not in df.columns and c not in _OPTIONAL]
    if missing:
        raise ValueError(f"transactions frame lacks columns {missing}")
    import pandas as pd

    cols = {k: df[k].to_numpy() for k in _INPUT_COLUMNS if k not in (*_OPTIONAL, "event_time")}
    for k in _OPTIONAL:
        values = df[k].tolist() if k in df.columns else [None] * len(df)
        cols[k] = [None if pd.isna(v) else v for v in values]
    return _featurize_columns(cols, _epoch_seconds(df["event_time"]))


def as_dict(vector: np.ndarray) -> dict[str, float]:
    """A feature vector as {name: value}, the form stored with each prediction."""
    return dict(zip(FEATURE_NAMES, vector.tolist(), strict=True))


def amount_band(amount_usd: float) -> str:
    return next(name for upper, name in AMOUNT_BANDS if amount_usd < upper)


def threshold_segment(
    amount_usd: float, account_age_days: float, payment_method: str | None = None
) -> str:
    """The context a decision threshold depends on, as a path from broad to narrow: amount
    band x tenure, then payment method (`medium|new/digital_wallet`). Its parent is
    `medium|new` (what a caller without the method gets), whose parent is the policy's root
    (`policy.ancestry`). The scorer, the replay and the threshold learner all call this."""
    tenure = "new" if account_age_days < NEW_ACCOUNT_DAYS else "established"
    segment = f"{amount_band(amount_usd)}|{tenure}"
    return segment if payment_method is None else f"{segment}/{payment_method}"


def threshold_segments(
    amount_usd: np.ndarray, account_age_days: np.ndarray, payment_method: np.ndarray | None = None
) -> np.ndarray:
    """`threshold_segment` of many rows at once: the same strings, as an object array (a row
    whose payment method is None gets no method, as there)."""
    usd = np.asarray(amount_usd, dtype=np.float64)
    band = np.searchsorted(_BAND_UPPERS, usd, side="right")
    if (band >= len(_BAND_UPPERS)).any():
        raise ValueError("an amount_usd is in no amount band (NaN?)")
    new = np.asarray(account_age_days, dtype=np.float64) < NEW_ACCOUNT_DAYS
    segment = _BAND_NAMES[band] + np.where(new, "|new", "|established").astype(object)
    if payment_method is None:
        return segment
    method = np.asarray(payment_method, dtype=object)
    has = method != None  # noqa: E711 (elementwise)
    segment[has] = segment[has] + "/" + method[has]
    return segment


def country_group(country: str) -> str:
    """Region of a country, the unit of geographic segments."""
    return COUNTRY_REGION.get(country, "other")
