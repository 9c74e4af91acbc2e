"""Label events as they reach the platform: late, partial, and shaped by the decisions taken.

- A legitimate customer wrongly blocked may complain; support verifies the dispute within days
  (`dispute` via the API, or a `ticket_export`), giving a `legit` label.
- Approved fraud becomes a `chargeback` (`fraud` label) weeks later, at most 120 days; some
  fraud is never reported.
- A blocked fraud produces nothing, and an approved legitimate payment produces no event: it
  counts as legit only once it matures with no report (see `fraud_core.evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from fraud_core.maturity import MATURITY_DAYS

LABEL_COLUMNS = ("transaction_id", "label", "source", "reported_at", "details")


@dataclass(frozen=True)
class LabelConfig:
    """How and when outcomes are reported (delays in days)."""

    chargeback_median_days: float = 35.0
    chargeback_sigma: float = 0.6
    max_chargeback_days: float = MATURITY_DAYS
    never_reported: float = 0.075
    """Share of approved fraud that nobody ever reports (5-10% in the literature)."""
    dispute_rate: float = 0.6
    """Share of wrongly blocked legitimate payments whose customer complains successfully."""
    dispute_median_days: float = 2.0
    dispute_sigma: float = 0.7
    max_dispute_days: float = 14.0
    ticket_export_share: float = 0.3
    """Verified disputes that arrive in a support ticket export rather than through the API."""


def utc(moment: datetime | pd.Timestamp | str) -> pd.Timestamp:
    """A moment as a UTC timestamp (naive means UTC)."""
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")


def _delays(
    n: int, median: float, sigma: float, cap: float, rng: np.random.Generator
) -> np.ndarray:
    """Log-normal delays in days, truncated at `cap` (redrawn, not clipped)."""
    delays = rng.lognormal(np.log(median), sigma, n)
    while (over := delays > cap).any():
        delays[over] = rng.lognormal(np.log(median), sigma, over.sum())
    return delays


def generate_labels(
    transactions: pd.DataFrame,
    is_fraud: np.ndarray,
    blocked: np.ndarray | None = None,
    *,
    as_of: datetime,
    seed: int,
    config: LabelConfig | None = None,
) -> pd.DataFrame:
    """Label events reported by `as_of` for `transactions` (needs transaction_id, event_time).

    `is_fraud` is the hidden truth per row; `blocked` the final decision per row (None: every
    payment approved). Explored payments were approved, so they count as approved here.
    Returns LABEL_COLUMNS sorted by `reported_at`, at most one event per transaction.
    """
    config = config or LabelConfig()
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1AB]))
    n = len(transactions)
    is_fraud = np.asarray(is_fraud, dtype=bool)
    blocked = np.zeros(n, dtype=bool) if blocked is None else np.asarray(blocked, dtype=bool)
    if len(is_fraud) != n or len(blocked) != n:
        raise ValueError("is_fraud and blocked must have one entry per transaction")

    chargeback = is_fraud & ~blocked & (rng.random(n) >= config.never_reported)
    dispute = ~is_fraud & blocked & (rng.random(n) < config.dispute_rate)
    delay = np.full(n, np.nan)
    delay[chargeback] = _delays(
        chargeback.sum(), config.chargeback_median_days, config.chargeback_sigma,
        config.max_chargeback_days, rng,
    )  # fmt: skip
    delay[dispute] = _delays(
        dispute.sum(), config.dispute_median_days, config.dispute_sigma,
        config.max_dispute_days, rng,
    )  # fmt: skip
    exported = dispute & (rng.random(n) < config.ticket_export_share)
    source = np.select([chargeback, exported], ["chargeback", "ticket_export"], "dispute")

    # only the reported rows reach `to_timedelta`: pandas rounds the (uninitialised) fraction
    # of a NaN entry too, which warns of an overflow whenever that memory holds a huge float
    reported = np.flatnonzero(chargeback | dispute)
    event_time = pd.to_datetime(transactions["event_time"], utc=True).array[reported]
    reported_at = pd.Series(event_time + pd.to_timedelta(delay[reported], unit="D")).dt.floor("s")
    on_time = (reported_at <= utc(as_of)).to_numpy()
    keep = reported[on_time]
    events = pd.DataFrame(
        {
            "transaction_id": transactions["transaction_id"].to_numpy()[keep],
            "label": np.where(chargeback[keep], "fraud", "legit"),
            "source": source[keep],
            "reported_at": reported_at[on_time].to_numpy(),
            "details": [
                {"simulated": True, "delay_days": round(d, 2)} for d in delay[keep].tolist()
            ],
        },
        columns=list(LABEL_COLUMNS),
    )
    return events.sort_values("reported_at", kind="stable", ignore_index=True)


def measure_label_delays(transactions: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Per source: event count and delay quantiles (days from payment to report)."""
    times = transactions.set_index("transaction_id")["event_time"]
    paid = times.reindex(labels["transaction_id"]).reset_index(drop=True)
    delay = (labels["reported_at"].reset_index(drop=True) - paid) / pd.Timedelta(days=1)
    return (
        pd.DataFrame({"source": labels["source"].to_numpy(), "delay_days": delay})
        .groupby("source")["delay_days"]
        .agg(events="size", median="median", p90=lambda d: d.quantile(0.9), max="max")
    )
