"""What the threshold policy's segments buy, on the simulated incident, against the hidden truth.

The case study's model (XGBoost recipe, `simulation.incident.train_recipe`) is trained on the
pre-drift year and serves the six drift months at a static 0.5 with logged exploration; labels
(disputes, chargebacks) are generated as of 125 days after the last payment. Policies learned
from those labels (`threshold_learning`) are compared with the baseline in the same run:
- `static 0.5`: the case study's deployment;
- `before`: the previous policy (amount x tenure segments, thresholds 0.05 .. 0.95);
- `amount x tenure`: the previous segments (every path cut to its top level), today's grid;
- `after: hierarchical`: amount x tenure > payment method, children borrowing from parents.
Two protocols: `split` (last 60 days, learned on a random half, measured on the other half,
as in commit 950c255) and `next-month` (learned on drift days 90-150, measured on 150-180).

    uv run python benchmarks/threshold_policy.py [--seed 0 --seed 1] [--tx-per-day 2000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

PRE_DRIFT_DAYS = 365
LABEL_LAG_DAYS = 125


def true_figures(frame: pd.DataFrame, thresholds: np.ndarray) -> dict[str, float]:
    """FPR, recall and cost (USD) against the hidden truth, every payment counted."""
    from fraud_core.evaluation import Costs

    costs = Costs()
    block = frame["score"].to_numpy() >= thresholds
    fraud = frame["is_fraud"].to_numpy()
    usd = frame["amount_usd"].to_numpy()
    cost = (block & ~fraud) @ costs.false_block(usd) + (~block & fraud) @ costs.missed_fraud(usd)
    return {
        "fpr": float((block & ~fraud).sum() / max(1, (~fraud).sum())),
        "recall": float((block & fraud).sum() / max(1, fraud.sum())),
        "cost_usd": float(cost),
    }


def scored_drift(seed: int, tx_per_day: int, trees: int, exploration: float) -> pd.DataFrame:
    """The drift months scored by the static model, decided at 0.5, with label states."""
    from fraud_core.evaluation import label_states
    from fraud_core.features import featurize_frame
    from fraud_core.simulation import (
        WorldConfig,
        amount_usd,
        decide,
        generate_labels,
        simulate_world,
    )
    from fraud_core.simulation.config import DRIFT_DAYS
    from fraud_core.simulation.incident import train_recipe
    from fraud_core.threshold_learning import segment_paths

    config = WorldConfig(days=PRE_DRIFT_DAYS + DRIFT_DAYS, tx_per_day=tx_per_day)
    world = simulate_world(config, seed)
    features = featurize_frame(world.transactions)
    first = pd.Timestamp(config.start, tz="UTC")
    day = ((world.transactions["event_time"] - first) // pd.Timedelta(days=1)).to_numpy()
    pre = day < PRE_DRIFT_DAYS
    model = train_recipe(features[pre], world.is_fraud[pre], trees=trees, seed=seed)
    tx = world.transactions[~pre].reset_index(drop=True)
    is_fraud = world.is_fraud[~pre]
    scores = model.predict_proba(features[~pre])[:, 1]
    decisions = decide(scores, 0.5, exploration=exploration, seed=seed)
    as_of = tx["event_time"].max() + pd.Timedelta(days=LABEL_LAG_DAYS)
    labels = generate_labels(tx, is_fraud, decisions.blocked, as_of=as_of, seed=seed)
    log = pd.DataFrame(
        {
            "transaction_id": tx["transaction_id"].to_numpy(),
            "event_time": tx["event_time"].to_numpy(),
            "day": day[~pre] - PRE_DRIFT_DAYS,
            "decision": decisions.decision,
            "score": scores,
            "amount_usd": amount_usd(tx),
            "account_age_days": tx["account_age_days"].to_numpy(),
            "payment_method": tx["payment_method"].astype(str).to_numpy(),
            "propensity": decisions.propensity,
            "is_fraud": is_fraud,
        }
    )
    log["segment"] = segment_paths(log)
    log["state"] = label_states(log, labels, as_of=as_of)
    return log


def policies(learn: pd.DataFrame) -> dict:
    from fraud_core.policy import ThresholdPolicy, top_level
    from fraud_core.threshold_learning import LearningConfig, labeled_frame, learn_thresholds

    labeled = labeled_frame(learn, learn["state"].to_numpy())
    flat = labeled.assign(segment=[top_level(s) for s in labeled["segment"]])
    up_to_095 = LearningConfig(grid=tuple(round(0.05 * i, 2) for i in range(1, 20)))
    return {
        "static 0.5": ThresholdPolicy(),
        "before: amount x tenure, grid to 0.95": learn_thresholds(
            flat, version="before", config=up_to_095
        ).policy(),
        "amount x tenure": learn_thresholds(flat, version="flat").policy(),
        "after: hierarchical": learn_thresholds(labeled, version="tree").policy(),
    }


def report(name: str, learn: pd.DataFrame, measure: pd.DataFrame) -> list[dict]:
    rows = []
    wallet = (measure["payment_method"] == "digital_wallet").to_numpy()
    for arm, policy in policies(learn).items():
        thresholds = measure["segment"].map(policy.threshold).to_numpy()
        overall = true_figures(measure, thresholds)
        on_wallets = true_figures(measure[wallet], thresholds[wallet])
        rows.append({"protocol": name, "policy": arm, **overall,
                     **{f"wallet_{k}": v for k, v in on_wallets.items()}})  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, action="append", dest="seeds")
    parser.add_argument("--tx-per-day", type=int, default=2_000)
    parser.add_argument("--trees", type=int, default=200)
    parser.add_argument("--exploration", type=float, default=0.1)
    args = parser.parse_args()
    for seed in args.seeds or [0]:
        started = time.perf_counter()
        log = scored_drift(seed, args.tx_per_day, args.trees, args.exploration)
        last = log[log["day"] >= log["day"].max() - 59]
        half = np.random.default_rng(seed).random(len(last)) < 0.5
        rows = report("split", last[half], last[~half])
        rows += report(
            "next-month", log[(log["day"] >= 90) & (log["day"] < 150)], log[log["day"] >= 150]
        )
        print(f"\nseed {seed}, {args.tx_per_day:,} payments/day, exploration "
              f"{args.exploration:.0%} ({time.perf_counter() - started:.0f} s)")  # fmt: skip
        with pd.option_context("display.width", 200, "display.float_format", "{:,.3f}".format):
            print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
