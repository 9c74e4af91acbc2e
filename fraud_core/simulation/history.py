"""A simulated history as the platform would have logged it: prediction rows for the feedback
store (`fraudops seed`), and the tables of `fraudops simulate`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud_core.features import FEATURE_NAMES, FEATURE_SPEC, threshold_segments
from fraud_core.schema import keyed_hash
from fraud_core.simulation.decisions import Decisions
from fraud_core.simulation.world import World, amount_usd

SCORING_LATENCY = pd.Timedelta(milliseconds=3)
LOGGED_COLUMNS = (
    "amount", "currency", "payment_method", "wallet_provider", "channel", "card_present",
    "customer_country", "merchant_country", "merchant_category",
)  # fmt: skip
"""Transaction fields copied as they are into each prediction row."""


def _plain(values: pd.Series) -> list:
    """Python values with None for missing (categoricals and NaN included)."""
    return values.astype(object).where(values.notna(), None).tolist()


def prediction_rows(
    transactions: pd.DataFrame,
    features: np.ndarray,
    decisions: Decisions,
    *,
    model_version: str,
    hash_key: str,
    policy_version: str | None = None,
) -> pd.DataFrame:
    """`predictions` rows of the feedback store for scored transactions (champion traffic).

    `features` is `featurize_frame(transactions)`; customer ids are stored only as keyed hashes.
    """
    frame = prediction_frame(
        transactions, decisions, model_version=model_version, hash_key=hash_key,
        policy_version=policy_version,
    )  # fmt: skip
    values = [dict(zip(FEATURE_NAMES, row, strict=True)) for row in features.tolist()]
    frame.insert(frame.columns.get_loc("amount_usd") + 1, "features", values)
    return frame


def prediction_frame(
    transactions: pd.DataFrame,
    decisions: Decisions,
    *,
    model_version: str,
    hash_key: str,
    policy_version: str | None = None,
) -> pd.DataFrame:
    """`prediction_rows` without the features column (for `insert_prediction_matrix`)."""
    customers = transactions["customer_id"].astype(str)
    hashes = {c: keyed_hash(c, hash_key) for c in customers.unique()}
    usd = amount_usd(transactions)
    age = transactions["account_age_days"].to_numpy()
    frame = pd.DataFrame(
        {
            "transaction_id": transactions["transaction_id"].astype(str).to_numpy(),
            "event_time": transactions["event_time"].array,
            "scored_at": (transactions["event_time"] + SCORING_LATENCY).array,
            "customer_hash": customers.map(hashes).to_numpy(),
            "amount_usd": usd,
            "feature_version": FEATURE_SPEC.version,
            "score": decisions.score,
            "threshold": decisions.threshold,
            "decision": decisions.decision,
            "model_version": model_version,
            "variant": "champion",
            "segment": threshold_segments(usd, age),
            "explored": decisions.explored,
            "propensity": decisions.propensity,
            "policy_version": policy_version,
        }
    )
    for column in LOGGED_COLUMNS:
        frame[column] = _plain(transactions[column])
    return frame


def history_tables(
    world: World, decisions: Decisions, labels: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The files of `fraudops simulate`: transactions, the hidden oracle, decisions (score,
    threshold, decision, explored, propensity per transaction) and label events."""
    return {
        "transactions": world.transactions,
        "oracle": world.oracle,
        "decisions": pd.DataFrame(
            {
                "transaction_id": world.transactions["transaction_id"].to_numpy(),
                "score": decisions.score,
                "threshold": decisions.threshold,
                "decision": decisions.decision,
                "explored": decisions.explored,
                "propensity": decisions.propensity,
            }
        ),
        "label_events": labels,
    }
