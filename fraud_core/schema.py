"""Wire and domain types: what a payment platform sends, what the scorer answers, labels."""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import pycountry
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Reference settlement rates (USD per unit). A currency outside this table is not settled
# by the platform, so it is rejected rather than scored with a guessed amount.
USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "CHF": 1.12,
    "SEK": 0.095,
    "NOK": 0.093,
    "DKK": 0.145,
    "PLN": 0.25,
    "CZK": 0.043,
    "HUF": 0.0027,
    "RON": 0.22,
    "CAD": 0.73,
    "MXN": 0.058,
    "BRL": 0.2,
    "ARS": 0.0011,
    "CLP": 0.0011,
    "COP": 0.00025,
    "JPY": 0.0067,
    "CNY": 0.14,
    "HKD": 0.128,
    "SGD": 0.74,
    "AUD": 0.66,
    "NZD": 0.61,
    "INR": 0.012,
    "KRW": 0.00074,
    "THB": 0.028,
    "IDR": 0.000063,
    "MYR": 0.21,
    "PHP": 0.018,
    "VND": 0.00004,
    "AED": 0.27,
    "SAR": 0.27,
    "TRY": 0.031,
    "ZAR": 0.054,
    "NGN": 0.00065,
    "KES": 0.0077,
    "EGP": 0.021,
    "MAD": 0.1,
    "ILS": 0.27,
}
MAX_AMOUNT_USD = 1_000_000.0
FUTURE_TOLERANCE = timedelta(minutes=10)
EARLIEST_EVENT = datetime(2000, 1, 1, tzinfo=UTC)
MAX_BATCH = 1000

PaymentMethod = Literal["card", "digital_wallet", "bank_transfer", "bnpl"]
Channel = Literal["online", "in_store", "mobile_app"]
Decision = Literal["approve", "block"]
Variant = Literal["champion", "canary"]
LabelValue = Literal["fraud", "legit"]
LabelSource = Literal["dispute", "chargeback", "ticket_export", "api"]

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")]
Slug = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
CountryCode = Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]


def keyed_hash(value: str, key: str) -> str:
    """HMAC-SHA256 of an identifier: the only form in which customer or card ids are stored."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _check_country(code: str) -> str:
    code = code.upper()
    if pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {code!r}")
    return code


def _utc(value: datetime) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is before datetime.min in UTC
        raise ValueError("timestamp out of range") from None


def _check_not_future(value: datetime) -> datetime:
    value = _utc(value)
    if value > datetime.now(UTC) + FUTURE_TOLERANCE:
        raise ValueError("timestamp is in the future")
    if value < EARLIEST_EVENT:
        raise ValueError("timestamp is before 2000-01-01")
    return value


class Transaction(BaseModel):
    """One payment as the platform sends it for scoring."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    transaction_id: Identifier
    event_time: datetime = Field(description="When the payment happened; naive means UTC")
    # The amount and the flag are strict (pydantic's lax mode would take `true` or "12.5" as an
    # amount and "yes" or 1 as a flag); day counts take whole numbers, 30.0 included.
    amount: float = Field(gt=0, strict=True, description="Amount in `currency`")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217, settled currency")
    customer_id: str = Field(min_length=1, max_length=128, description="Hashed before storage")
    account_age_days: int = Field(ge=0, le=36_500)
    payment_method: PaymentMethod
    wallet_provider: Slug | None = Field(
        default=None, description="For digital wallets: apple_pay, google_pay, ... (new ones ok)"
    )
    card_fingerprint: str | None = Field(default=None, max_length=128, description="Hashed")
    card_present: bool = Field(strict=True)
    merchant_id: Identifier
    merchant_category: Slug
    customer_country: CountryCode
    merchant_country: CountryCode
    channel: Channel
    device_id: str | None = Field(default=None, max_length=128, description="Hashed")
    device_age_days: int | None = Field(
        default=None,
        ge=0,
        le=36_500,
        description="Days since this device/token was first seen",
    )

    @field_validator("account_age_days", "device_age_days", mode="before")
    @classmethod
    def _whole_days(cls, value: object) -> object:
        if isinstance(value, bool | str):
            raise ValueError("expected a whole number of days, not a flag or a string")
        return value

    @field_validator("customer_country", "merchant_country")
    @classmethod
    def _country(cls, value: str) -> str:
        return _check_country(value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        value = value.upper()
        if value not in USD_PER_UNIT:
            known = pycountry.currencies.get(alpha_3=value) is not None
            raise ValueError(
                f"currency {value!r} is not settled by this platform"
                if known
                else f"unknown ISO 4217 currency code {value!r}"
            )
        return value

    @field_validator("event_time")
    @classmethod
    def _event_time(cls, value: datetime) -> datetime:
        return _check_not_future(value)

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("amount must be a finite number")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Transaction:
        if self.amount_usd > MAX_AMOUNT_USD:
            raise ValueError(
                f"amount: {self.amount} {self.currency} exceeds the maximum of "
                f"{MAX_AMOUNT_USD:,.0f} USD"
            )
        if self.wallet_provider and self.payment_method != "digital_wallet":
            raise ValueError("wallet_provider: only allowed when payment_method is digital_wallet")
        return self

    @property
    def amount_usd(self) -> float:
        return self.amount * USD_PER_UNIT[self.currency]


class ScoreBatchRequest(BaseModel):
    """`POST /score_batch`: bulk rescoring, at most MAX_BATCH transactions."""

    model_config = ConfigDict(extra="forbid")

    transactions: list[Transaction] = Field(min_length=1, max_length=MAX_BATCH)


class ScoreResponse(BaseModel):
    """The decision on one transaction, and everything needed to audit it."""

    transaction_id: str
    score: float
    decision: Decision
    threshold: float
    segment: str
    model_version: str
    variant: Variant
    explored: bool = False
    propensity: float = 1.0
    policy_version: str | None = None


class Label(BaseModel):
    """A verified outcome for a scored transaction (dispute, chargeback, ticket export)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    transaction_id: Identifier
    label: LabelValue
    source: LabelSource
    reported_at: datetime
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("reported_at")
    @classmethod
    def _reported_at(cls, value: datetime) -> datetime:
        return _check_not_future(value)
