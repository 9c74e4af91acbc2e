"""Where month 6's fraud recall goes between the oracle and the platform's decisions, on a
finished `fraudops replay --platform` (its report's replay.json, its store, the same world).

    uv run python -m fraud_assets.replay.recall_gap var/reports/replay/seed-0 [--db-url URL]

Ranking: the platform's recipe trained on the eve of month 6 under one more of the platform's
constraints at a time (every payment's truth: the oracle's information; the training window's
label-maturity lag; only the payments the platform approved or explored, weighted by inverse
propensity; the labels reported by then: the platform's own training rows), then the scores
the served models gave; each as recall at a fixed FPR on month 6's true outcomes. Operating
point: month 6's FPR, recall and cost (`Costs`) of the platform's decisions, of the same without
exploration's approvals, and of one threshold on the served scores.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraud_assets.replay.baselines import ORACLE_WINDOW_DAYS
from fraud_assets.replay.figures import MONTH_DAYS, rates
from fraud_assets.replay.world import ReplaySize, ReplayWorld
from fraud_core.policy import DEFAULT_THRESHOLD

FPRS = (0.005, 0.01, 0.02)


def recall_gap(
    report_dir: Path, db_url: str | None = None, maturity: float | None = None
) -> dict[str, Any]:
    """The decomposition for the replay reported in `report_dir` (store: `db_url`, default the
    replay's SQLite file; maturity: the replay's `FRAUD_LABEL_MATURITY_DAYS`, default 45)."""
    from fraud_core.features import featurize_frame
    from fraud_core.maturity import TRAINING_MATURITY_DAYS
    from fraud_core.store import FeedbackStore

    summary = json.loads((report_dir / "replay.json").read_text())
    size = ReplaySize(
        tx_per_day=summary["tx_per_day"],
        pre_drift_days=summary["pre_drift_days"],
        drift_days=summary["drift_days"],
    )
    world = ReplayWorld.simulate(size, summary["seed"])
    if db_url is None:
        db = Path(summary["dagster_home"]).parent / "var" / "fraud.db"
        if not db.is_file():
            raise FileNotFoundError(f"no replay store at {db} (pass its --db-url)")
        db_url = f"sqlite:///{db}"
    if maturity is None:
        setting = summary["settings"].get("FRAUD_LABEL_MATURITY_DAYS")
        maturity = float(setting) if setting else TRAINING_MATURITY_DAYS
    store = FeedbackStore(db_url)
    t0 = max(world.drift_start, world.end - timedelta(days=MONTH_DAYS))
    month = world.rows_between(t0, world.end)
    served = _served(world, month, t0, store)
    fraud = served["fraud"].to_numpy()
    X_month = featurize_frame(world.transactions.iloc[month])  # once, for every step's model
    ranking = [
        {
            "step": step,
            "frauds": int(y.sum()),
            **_recalls(_scores(world, rows, y, w, X_month), fraud),
        }
        for step, rows, y, w in _training_sets(world, store, t0, maturity)
    ]
    ranking.append(
        {"step": "served models' scores", "frauds": None, **_recalls(served["score"], fraud)}
    )
    scores, usd = served["score"].to_numpy(), served["amount_usd"].to_numpy()
    blocked = (served["decision"] == "block").to_numpy()
    rules = {
        "the platform's decisions": blocked,
        "the same without exploration's approvals": blocked | served["explored"].to_numpy(bool),
        f"the served scores at {DEFAULT_THRESHOLD:g}": scores >= DEFAULT_THRESHOLD,
        **{
            f"the served scores, one threshold at FPR {fpr:.1%}": scores >= _cut(scores, fraud, fpr)
            for fpr in FPRS
        },
    }
    return {
        "seed": summary["seed"],
        "month": {"start": t0.isoformat(), "payments": len(served), "frauds": int(fraud.sum())},
        "maturity_days": maturity,
        "ranking": ranking,
        "operating_point": [{"rule": r, **rates(b, fraud, usd)} for r, b in rules.items()],
    }


def _served(world: ReplayWorld, month: slice, t0: Any, store: Any) -> pd.DataFrame:
    """The month's payments (truth, amount) with the platform's stored score and decision."""
    stored = store.predictions_between(
        t0, world.end, columns=["transaction_id", "score", "decision", "explored"]
    )
    truth = pd.DataFrame(
        {
            "transaction_id": world.transactions["transaction_id"].iloc[month].to_numpy(),
            "fraud": world.is_fraud[month],
            "amount_usd": world.amount_usd[month],
        }
    )
    return truth.merge(stored, on="transaction_id", validate="one_to_one")


def _training_sets(
    world: ReplayWorld, store: Any, t0: Any, maturity: float
) -> Iterator[tuple[str, Any, np.ndarray, np.ndarray | None]]:
    """(step, rows of the world, label, weight) from the oracle's information to the
    platform's training rows, one constraint more each."""
    start, settled = t0 - timedelta(days=ORACLE_WINDOW_DAYS), t0 - timedelta(days=maturity)
    oracle = world.rows_between(start, t0)
    yield (
        f"oracle: every payment of the {ORACLE_WINDOW_DAYS} days to month 6, true",
        oracle,
        world.is_fraud[oracle],
        None,
    )
    window = world.rows_between(start, settled)
    truth = world.is_fraud[window]
    yield (
        f"+ lag: only the payments {maturity:g}-{ORACLE_WINDOW_DAYS} days old",
        window,
        truth,
        None,
    )
    stored = store.predictions_between(
        start, settled, columns=["id", "transaction_id", "decision", "propensity"]
    )
    labels = store.deciding_labels(start, settled, as_of=t0)
    stored = stored.merge(labels[["id", "label"]], on="id", how="left", validate="one_to_one")
    ids = world.transactions["transaction_id"].iloc[window]
    joined = ids.to_frame().merge(stored, on="transaction_id", how="left", validate="one_to_one")
    approved = (joined["decision"] == "approve").to_numpy()  # explored payments included
    weight = 1.0 / joined["propensity"].to_numpy()[approved]
    rows = np.arange(window.start, window.stop)[approved]
    yield "+ selection: the approved and explored ones (IPW)", rows, truth[approved], weight
    reported = (joined["label"] == "fraud").to_numpy()[approved]
    yield "+ labels reported by then: the platform's rows", rows, reported, weight


def _scores(world: ReplayWorld, rows: Any, y: np.ndarray, weight: Any, X_month: Any) -> Any:
    """The recipe fitted on `rows` of the world (labels `y`, weights), scoring the month."""
    from fraud_core.features import featurize_frame
    from fraud_core.training import Recipe, fit

    X = featurize_frame(world.transactions.iloc[rows])
    model = fit(X, y.astype(int), Recipe(seed=world.seed), sample_weight=weight)
    return model.predict_proba(X_month)[:, 1]


def _cut(scores: np.ndarray, fraud: np.ndarray, fpr: float) -> float:
    """The threshold that blocks the share `fpr` of the legitimate payments."""
    return float(np.quantile(scores[~fraud], 1 - fpr))


def _recalls(scores: Any, fraud: np.ndarray) -> dict[str, float]:
    """Recall at each of `FPRS`: the threshold that blocks that share of the legitimate."""
    scores = np.asarray(scores)
    return {
        f"recall_at_fpr_{fpr:g}": float((scores[fraud] >= _cut(scores, fraud, fpr)).mean())
        for fpr in FPRS
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="the replay's report folder (replay.json)")
    parser.add_argument("--db-url", help="the replay's store, if it was not its SQLite file")
    parser.add_argument("--maturity", type=float, help="training's label maturity (days)")
    args = parser.parse_args()
    gap = recall_gap(args.report, args.db_url, args.maturity)
    month = gap["month"]
    print(
        f"seed {gap['seed']}, month 6 from {month['start'][:10]}: {month['payments']:,} "
        f"payments, {month['frauds']:,} frauds; label maturity {gap['maturity_days']:g} days"
    )
    print(f"{'ranking: recall at FPR':<68}" + "".join(f"{f:>8.1%}" for f in FPRS))
    for step in gap["ranking"]:
        frauds = "" if step["frauds"] is None else f" ({step['frauds']:,} frauds)"
        figures = [step[f"recall_at_fpr_{fpr:g}"] for fpr in FPRS]
        print(f"  {step['step'] + frauds:<66}" + "".join(f"{r:>8.1%}" for r in figures))
    print("operating point (month 6, Costs):")
    for rule in gap["operating_point"]:
        print(
            f"  {rule['rule']:<50} FPR {rule['fpr']:6.2%}  recall {rule['recall']:6.1%}"
            f"  cost {rule['cost_usd']:>10,.0f} USD"
        )


if __name__ == "__main__":
    main()
