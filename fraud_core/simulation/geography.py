"""Vocabularies of the simulated world: countries (markets, currencies, time zones), categories,
wallets. Simulated columns carry integer codes into these tuples until the final frame."""

from __future__ import annotations

import numpy as np

from fraud_core.features import CHANNELS, MERCHANT_CATEGORIES, PAYMENT_METHODS

# code, weight in its table, currency of its merchants, UTC offset (hours)
_HOME = [
    ("US", 0.45, "USD", -6.0), ("CA", 0.08, "CAD", -5.0), ("GB", 0.12, "GBP", 0.0),
    ("DE", 0.10, "EUR", 1.0), ("FR", 0.08, "EUR", 1.0), ("ES", 0.05, "EUR", 1.0),
    ("IT", 0.05, "EUR", 1.0), ("NL", 0.04, "EUR", 1.0), ("IE", 0.03, "EUR", 0.0),
]  # fmt: skip
_EXPANSION = [
    ("BR", 0.28, "BRL", -3.0), ("MX", 0.18, "MXN", -6.0), ("CO", 0.10, "COP", -5.0),
    ("AR", 0.07, "ARS", -3.0), ("CL", 0.06, "CLP", -4.0), ("IN", 0.12, "INR", 5.5),
    ("PH", 0.06, "PHP", 8.0), ("ID", 0.06, "IDR", 7.0), ("VN", 0.03, "VND", 7.0),
    ("HN", 0.02, "USD", -6.0), ("KH", 0.02, "USD", 7.0),
]  # fmt: skip
_VISITORS = [
    ("JP", 0.2, "JPY", 9.0), ("KR", 0.1, "KRW", 9.0), ("AU", 0.15, "AUD", 10.0),
    ("CH", 0.15, "CHF", 1.0), ("SE", 0.1, "SEK", 1.0), ("AE", 0.1, "AED", 4.0),
    ("BR", 0.1, "BRL", -3.0), ("MX", 0.1, "MXN", -6.0),
]  # fmt: skip
_FRAUD_ORIGINS = [
    ("BR", 0.14, "BRL", -3.0), ("MX", 0.10, "MXN", -6.0), ("CO", 0.08, "COP", -5.0),
    ("IN", 0.10, "INR", 5.5), ("ID", 0.08, "IDR", 7.0), ("PH", 0.08, "PHP", 8.0),
    ("VN", 0.07, "VND", 7.0), ("NG", 0.10, "NGN", 1.0), ("RO", 0.06, "RON", 2.0),
    ("UA", 0.06, "USD", 2.0), ("TR", 0.06, "TRY", 3.0), ("RU", 0.04, "USD", 3.0),
    ("PK", 0.03, "USD", 5.0),
]  # fmt: skip
_ALL = {row[0]: row for row in _HOME + _EXPANSION + _VISITORS + _FRAUD_ORIGINS}

COUNTRIES: tuple[str, ...] = tuple(_ALL)
CURRENCY_OF = np.array([_ALL[c][2] for c in COUNTRIES], dtype=object)
UTC_OFFSET = np.array([_ALL[c][3] for c in COUNTRIES])


class Market:
    """Countries of one market, as codes into COUNTRIES, with traffic weights."""

    def __init__(self, rows: list[tuple[str, float, str, float]]) -> None:
        self.codes = np.array([COUNTRIES.index(row[0]) for row in rows], dtype=np.int64)
        weights = np.array([row[1] for row in rows])
        self.weights = weights / weights.sum()

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(self.codes, size=n, p=self.weights)


HOME = Market(_HOME)
"""Where the platform operated before the drift (customers and merchants)."""
EXPANSION = Market(_EXPANSION)
"""New markets (HN and KH are unknown to the feature pipeline's region map)."""
VISITORS = Market(_VISITORS)
"""Home countries of legitimate foreign customers (travellers, expats) before the expansion."""
FRAUD_ORIGINS = Market(_FRAUD_ORIGINS)
"""Countries of the stolen foreign cards used in cross-border fraud."""

CATEGORIES = MERCHANT_CATEGORIES
CATEGORY_WEIGHT = np.array([0.22, 0.15, 0.08, 0.03, 0.05, 0.10, 0.07, 0.03, 0.02, 0.15, 0.05, 0.05])
CATEGORY_AMOUNT = np.array([1.2, 0.8, 1.3, 6.0, 4.0, 1.8, 0.3, 0.5, 1.5, 1.2, 2.0, 1.2])
CATEGORY_ONLINE = np.array([0.25, 0.2, 0.02, 0.9, 0.6, 0.6, 1.0, 1.0, 0.7, 0.95, 0.9, 0.4])
CROSS_BORDER_WEIGHT = np.array([0, 0, 0, 0.1, 0.15, 0.15, 0.15, 0.1, 0.0, 0.35, 0, 0])
"""Legitimate mix, amount multiplier on a customer's typical spend, online affinity, and the
mix of legitimate online purchases from merchants abroad."""

METHODS = PAYMENT_METHODS
CARD, WALLET, BANK_TRANSFER, BNPL = (
    METHODS.index(m) for m in ("card", "digital_wallet", "bank_transfer", "bnpl")
)
ONLINE, IN_STORE, MOBILE_APP = (CHANNELS.index(c) for c in ("online", "in_store", "mobile_app"))

WALLETS = ("apple_pay", "google_pay", "samsung_pay", "paypal", "mercado_pago", "nequi", "paytm",
           "gcash", "dana")  # fmt: skip
"""Global wallets first; the local ones of new markets are unknown to the feature pipeline."""
GLOBAL_WALLET_WEIGHT = np.array([0.45, 0.35, 0.08, 0.12])
LOCAL_WALLET = {"BR": "mercado_pago", "MX": "mercado_pago", "AR": "mercado_pago",
                "CO": "nequi", "IN": "paytm", "PH": "gcash", "ID": "dana"}  # fmt: skip
LOCAL_WALLET_OF = np.array(
    [WALLETS.index(LOCAL_WALLET[c]) if c in LOCAL_WALLET else -1 for c in COUNTRIES]
)
