"""Retraining, pure: the case study's XGBoost recipe, a time-based holdout, metrics per segment,
and the validation gate that compares a candidate with the champion on the same holdout.

Frames are labeled predictions: `transaction_id`, `event_time`, `decision`, `propensity`,
`reported_label` (the store's label, None when unreported), `amount_usd`, `payment_method`,
`customer_country`, and one column per FEATURE_NAMES entry. Training rows add `label`
(`fraud`/`legit`) and `weight` (inverse propensity).

pandas, xgboost and the evaluation module are imported inside functions: the Dagster code
location imports this module when it loads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.features import FEATURE_NAMES, amount_band, country_group
from fraud_core.training_rules import GatePolicy, Recipe

if TYPE_CHECKING:
    import pandas as pd
    import xgboost

    from fraud_core.evaluation import Costs

SEGMENT_DIMENSIONS = ("payment_method", "country_group", "amount_band")


@dataclass(frozen=True)
class HoldoutFigures:
    """A model's figures on one holdout: overall metrics and one row per segment."""

    metrics: Mapping[str, float]
    segments: Sequence[Mapping[str, Any]] = field(default_factory=tuple)


@dataclass(frozen=True)
class GateDecision:
    """Verdict, the reasons for a refusal, and the comparison table (metric, candidate, ...)."""

    passed: bool
    reasons: tuple[str, ...]
    comparison: tuple[Mapping[str, Any], ...]
    segment_comparison: tuple[Mapping[str, Any], ...]

    @property
    def summary(self) -> str:
        return "passed" if self.passed else "failed: " + "; ".join(self.reasons)


def training_rows(
    labeled: pd.DataFrame, as_of: datetime, days: int, maturity_days: float
) -> pd.DataFrame:
    """Approved predictions of the last `days` days with a final outcome, oldest first.

    The outcome is `fraud_core.evaluation.label_states` with `maturity_days`: an approved
    payment with no report after that long counts as legit, and the last `maturity_days` of the
    window are left out (their legitimate payments are still pending, so keeping their early
    fraud reports would over-represent fraud). Each row is weighted by its inverse propensity
    (`ipw_weights`): explored approvals stand for the would-block payments they were drawn
    from, so the model learns from the whole traffic, not only what the old model let through.
    """
    import pandas as pd

    from fraud_core.evaluation import ipw_weights, label_states

    end = pd.Timestamp(as_of)
    times = labeled["event_time"]
    matured = (times >= end - pd.Timedelta(days=days)) & (
        times < end - pd.Timedelta(days=maturity_days)
    )
    window = labeled[matured]
    states = label_states(
        window.assign(label=window["reported_label"]), as_of=end, maturity_days=maturity_days
    )
    weights = ipw_weights(window, states)
    rows = window.assign(label=states, weight=weights)[weights > 0]
    return rows.sort_values("event_time", kind="stable").reset_index(drop=True)


def holdout_cut(rows: int, holdout_fraction: float) -> int:
    """How many of `rows` (in time order) are for training: the latest `holdout_fraction` of
    them are the holdout."""
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {holdout_fraction}")
    return int(round(rows * (1 - holdout_fraction)))


def time_split(frame: pd.DataFrame, holdout_fraction: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The latest `holdout_fraction` of rows (by event time) as holdout, the rest for training."""
    ordered = frame.sort_values("event_time", kind="stable").reset_index(drop=True)
    cut = holdout_cut(len(ordered), holdout_fraction)
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def snapshot_rows(
    path: str, start: int, stop: int, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Rows [start, stop) of a Parquet snapshot, in file order, one row group (a day of
    `training_dataset`'s snapshot) at a time; only `columns` (default all) are read."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as file:
        offset = 0
        for group in range(file.num_row_groups):
            rows = file.metadata.row_group(group).num_rows
            first, last = max(start - offset, 0), min(stop - offset, rows)
            offset += rows
            if first < last:
                table = file.read_row_group(group, columns=columns)
                yield table.slice(first, last - first).to_pandas()


def window_of(frame: pd.DataFrame) -> dict[str, Any]:
    """Time range, row and fraud counts, and a content hash of a labeled frame."""
    digest = hashlib.sha256()
    digest.update("\n".join(frame["transaction_id"].astype(str)).encode())
    digest.update("\n".join(frame["label"].astype(str)).encode())
    return {
        "start": frame["event_time"].min().isoformat() if len(frame) else None,
        "end": frame["event_time"].max().isoformat() if len(frame) else None,
        "rows": len(frame),
        "frauds": int((frame["label"] == "fraud").sum()),
        "content_hash": digest.hexdigest()[:16],
    }


def features_and_target(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix (FEATURE_NAMES order) and 0/1 fraud target of a labeled frame."""
    X = frame[list(FEATURE_NAMES)].to_numpy(np.float32)
    return X, (frame["label"] == "fraud").to_numpy(int)


def downsample_legit(frame: pd.DataFrame, keep_fraction: float, seed: int = 0) -> pd.DataFrame:
    """Negative downsampling: every fraud row, and the legitimate rows whose transaction id
    hashes (with `seed`) below `keep_fraction`, their `weight` multiplied by 1/keep_fraction so
    the legitimate mass is unchanged. The draw depends on each row alone: the same rows are kept
    however the frame is partitioned."""
    import pandas as pd

    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    if keep_fraction == 1:
        return frame
    legit = (frame["label"] != "fraud").to_numpy()
    salted = frame["transaction_id"].astype(str) + f"/{seed}"
    draw = pd.util.hash_pandas_object(salted, index=False).to_numpy() / 2.0**64
    kept = frame[~legit | (draw < keep_fraction)]
    weight = kept["weight"].where(kept["label"] == "fraud", kept["weight"] / keep_fraction)
    return kept.assign(weight=weight)


def xgb_params(recipe: Recipe, rows: int, positives: int) -> dict[str, Any]:
    """The case study's classifier (binary:logistic, scale_pos_weight) for `rows` training rows
    of which `positives` are fraud (after downsampling: the legit count is scaled back up)."""
    if positives == 0 or positives == rows:
        raise ValueError("training rows need both fraud and legitimate labels")
    legit = (rows - positives) / recipe.legit_keep_fraction
    return {
        "max_depth": recipe.max_depth,
        "n_estimators": recipe.n_estimators,
        "learning_rate": recipe.learning_rate,
        "scale_pos_weight": recipe.scale_pos_weight or legit / positives,
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "tree_method": "hist",
        "random_state": recipe.seed,
    }


def fit(
    X: np.ndarray, y: np.ndarray, recipe: Recipe, sample_weight: np.ndarray | None = None
) -> xgboost.XGBClassifier:
    """Train the case study's classifier (`xgb_params`) on X, y in this process."""
    from xgboost import XGBClassifier

    model = XGBClassifier(**xgb_params(recipe, len(y), int(y.sum())), n_jobs=2)
    return model.fit(X, y, sample_weight=sample_weight)


def as_classifier(booster: xgboost.Booster, params: dict[str, Any]) -> xgboost.XGBClassifier:
    """A booster trained with `params` (`xgb_params`) as a plain `XGBClassifier`: the model kind
    the scorer, the pyfunc flavour and the registry load."""
    from xgboost import XGBClassifier

    model = XGBClassifier(**params, n_jobs=2)
    model.load_model(bytearray(booster.save_raw("ubj")))
    return model


def fit_batches(
    batches: Callable[[], Iterator[pd.DataFrame]], recipe: Recipe
) -> xgboost.XGBClassifier:
    """`fit` on labeled training rows that `batches()` yields a frame at a time (the same frames
    on every call), each downsampled by `recipe.legit_keep_fraction`: XGBoost quantises them
    in two passes (`QuantileDMatrix` on a `DataIter`), so no whole feature matrix is held."""
    import xgboost

    matrix = xgboost.QuantileDMatrix(_batch_iter(batches, recipe), nthread=2)
    y = matrix.get_label()
    params = xgb_params(recipe, len(y), int(y.sum()))
    native = xgboost.XGBClassifier(**params, n_jobs=2)  # the native parameters `fit` passes
    booster = xgboost.train(
        native.get_xgb_params(), matrix, num_boost_round=native.get_num_boosting_rounds()
    )
    return as_classifier(booster, params)


def _batch_iter(batches: Callable[[], Iterator[pd.DataFrame]], recipe: Recipe) -> Any:
    """An `xgboost.DataIter` over the downsampled, non-empty `batches()`."""
    import xgboost

    def downsampled() -> Iterator[pd.DataFrame]:
        for frame in batches():
            kept = downsample_legit(frame, recipe.legit_keep_fraction, recipe.seed)
            if len(kept):
                yield kept

    class Batches(xgboost.DataIter):
        def __init__(self) -> None:
            super().__init__(release_data=True)
            self.frames = downsampled()

        def reset(self) -> None:
            self.frames = downsampled()

        def next(self, input_data: Callable[..., None]) -> bool:
            frame = next(self.frames, None)
            if frame is None:
                return False
            X, y = features_and_target(frame)
            input_data(data=X, label=y, weight=frame["weight"].to_numpy())
            return True

    return Batches()


def segments_of(frame: pd.DataFrame) -> pd.DataFrame:
    """Each row's payment method, country group (customer region) and amount band."""
    import pandas as pd

    # one `country_group` call per distinct country (missing ones included), not per row
    country, countries = pd.factorize(frame["customer_country"], use_na_sentinel=False)
    groups = np.array([country_group(c) for c in countries.tolist()], dtype=object)
    return pd.DataFrame(
        {
            "payment_method": frame["payment_method"].astype(str).to_numpy(),
            "country_group": groups[country],
            "amount_band": amount_bands(frame["amount_usd"].to_numpy(np.float64)),
        }
    )


def amount_bands(amount_usd: np.ndarray) -> np.ndarray:
    """`features.amount_band` of each amount (object array), by one search over the band edges
    rather than a Python call per row; amounts no band takes (NaN, infinite) go through
    `amount_band` itself, which refuses them as it always did."""
    from fraud_core.features import AMOUNT_BANDS

    if not np.isfinite(amount_usd).all():
        return np.array([amount_band(a) for a in amount_usd.tolist()], dtype=object)
    uppers = np.array([upper for upper, _ in AMOUNT_BANDS])
    names = np.array([name for _, name in AMOUNT_BANDS], dtype=object)
    return names[np.searchsorted(uppers, amount_usd, side="right")]


def evaluate(
    holdout: pd.DataFrame, scores: np.ndarray, policy: GatePolicy, costs: Costs | None = None
) -> HoldoutFigures:
    """`fraud_core.evaluation.metrics` (with F1 and row counts) of `scores` at the gate's
    threshold on a labeled holdout, overall and per segment (rows weighted by their
    inverse-propensity `weight`)."""
    from fraud_core.evaluation import metrics

    is_fraud = (holdout["label"] == "fraud").to_numpy()
    amount = holdout["amount_usd"].to_numpy(float)
    weights = holdout["weight"].to_numpy(float)

    def figures(rows: np.ndarray) -> dict[str, float]:
        found = metrics(
            scores[rows],
            policy.threshold,
            is_fraud[rows],
            amount[rows],
            weights=weights[rows],
            costs=costs,
        )
        return {**found.as_dict(), "rows": float(rows.sum()), "frauds": float(is_fraud[rows].sum())}

    overall = figures(np.ones(len(holdout), dtype=bool))
    segments = segments_of(holdout)
    rows = []
    for dimension in SEGMENT_DIMENSIONS:
        for value in sorted(segments[dimension].unique()):
            mask = (segments[dimension] == value).to_numpy()
            rows.append({"dimension": dimension, "segment": value, **figures(mask)})
    return HoldoutFigures(metrics=overall, segments=tuple(rows))


def fraud_flips(
    holdout: pd.DataFrame, candidate: np.ndarray, champion: np.ndarray, threshold: float
) -> dict[str, tuple[int, int]]:
    """Per segment ("dimension=segment"): the holdout's frauds the champion catches and the
    candidate misses, and the reverse (rows, not weights: the counts of a sign test)."""
    fraud = (holdout["label"] == "fraud").to_numpy()
    mine, theirs = np.asarray(candidate) >= threshold, np.asarray(champion) >= threshold
    lost, gained = fraud & theirs & ~mine, fraud & mine & ~theirs
    segments = segments_of(holdout)
    flips = {}
    for dimension in SEGMENT_DIMENSIONS:
        for value in segments[dimension].unique():
            rows = (segments[dimension] == value).to_numpy()
            flips[f"{dimension}={value}"] = (int(lost[rows].sum()), int(gained[rows].sum()))
    return flips


def _floors(
    candidate: Mapping[str, float],
    policy: GatePolicy,
    champion: Mapping[str, float] | None = None,
) -> list[str]:
    """The absolute floors the candidate misses. With a champion, a floor that the champion
    misses too on the same holdout is no reason when the candidate is at least as good there:
    under drift both may fall below it, and refusing the better model keeps the worse one."""
    checks = [
        ("recall", policy.floor_recall, True),
        ("precision", policy.floor_precision, True),
        ("pr_auc", policy.floor_pr_auc, True),
        ("fpr", policy.max_fpr, False),
    ]
    reasons = []
    for name, bound, at_least in checks:
        value = candidate[name]
        if (value >= bound) if at_least else (value <= bound):
            continue
        if champion is not None:
            theirs = champion[name]
            champion_misses = theirs < bound if at_least else theirs > bound
            no_worse = value >= theirs if at_least else value <= theirs
            if champion_misses and no_worse:
                continue
        sign = ">=" if at_least else "<="
        reasons.append(f"{name} {value:.4f} misses the floor {sign} {bound}")
    return reasons


def _relative(
    candidate: Mapping[str, float], champion: Mapping[str, float], policy: GatePolicy
) -> list[str]:
    reasons = []
    if not candidate["f1"] >= champion["f1"] + policy.min_f1_gain:
        reasons.append(
            f"F1 {candidate['f1']:.4f} is below champion {champion['f1']:.4f}"
            f" + {policy.min_f1_gain}"
        )
    if not candidate["fpr"] <= champion["fpr"] + policy.fpr_tolerance:
        reasons.append(f"FPR {candidate['fpr']:.4f} is worse than champion {champion['fpr']:.4f}")
    if not candidate["expected_cost_usd"] < champion["expected_cost_usd"]:
        reasons.append(
            f"expected cost {candidate['expected_cost_usd']:,.0f} USD is not below champion"
            f" {champion['expected_cost_usd']:,.0f}"
        )
    return reasons


def _segment_regressions(
    candidate: HoldoutFigures,
    champion: HoldoutFigures,
    policy: GatePolicy,
    flips: Mapping[str, tuple[int, int]] | None,
) -> tuple[list[str], list[dict[str, Any]]]:
    from fraud_core.release_stats import paired_p_value

    theirs = {(s["dimension"], s["segment"]): s for s in champion.segments}
    reasons, table = [], []
    for mine in candidate.segments:
        other = theirs.get((mine["dimension"], mine["segment"]))
        if other is None:
            continue
        name = f"{mine['dimension']}={mine['segment']}"
        fpr_delta = mine["fpr"] - other["fpr"]
        recall_delta = mine["recall"] - other["recall"]
        sized = mine["rows"] >= policy.min_segment_rows
        fraud_sized = sized and mine["frauds"] >= policy.min_segment_frauds
        lost, gained = (None, None) if flips is None else flips.get(name, (0, 0))
        p_value = None if flips is None else paired_p_value(lost, gained)
        problems = []
        if sized and fpr_delta > policy.segment_fpr_tolerance:
            problems.append(f"FPR +{fpr_delta:.4f}")
        # less fraud caught is a regression unless fewer false blocks pay for it: a champion
        # that blocks everyone (the case study's incident) has a high recall in every segment;
        # and unless it is noise: a segment holds few frauds, one explored fraud weighs 20
        if (
            fraud_sized
            and -recall_delta > policy.segment_recall_tolerance
            and mine["expected_cost_usd"] >= other["expected_cost_usd"]
            and (p_value is None or p_value < policy.segment_recall_alpha)
        ):
            evidence = (
                ""
                if p_value is None
                else f" ({lost} frauds lost, {gained} gained, p={p_value:.2g})"
            )
            problems.append(f"recall {recall_delta:+.4f} at no lower cost{evidence}")
        if problems:
            reasons.append(f"segment {name} regresses: {', '.join(problems)}")
        table.append(
            {
                "segment": name,
                "rows": int(mine["rows"]),
                "frauds": int(mine["frauds"]),
                "fpr_candidate": mine["fpr"],
                "fpr_champion": other["fpr"],
                "recall_candidate": mine["recall"],
                "recall_champion": other["recall"],
                "cost_candidate": mine["expected_cost_usd"],
                "cost_champion": other["expected_cost_usd"],
                "frauds_lost": lost,
                "frauds_gained": gained,
                "verdict": "regresses" if problems else ("ok" if sized else "too small"),
            }
        )
    return reasons, table


def judge(
    candidate: HoldoutFigures,
    champion: HoldoutFigures | None,
    policy: GatePolicy,
    flips: Mapping[str, tuple[int, int]] | None = None,
) -> GateDecision:
    """The gate: absolute floors (those the champion misses too bind only as "no worse than
    the champion"); with a champion also F1 >= champion + gain, FPR not worse, expected cost
    lower, and no segment regressing beyond tolerance (FPR; recall unless its cost is lower,
    and with `flips` (`fraud_flips`) only when the sign test on its frauds shows it)."""
    reasons = _floors(candidate.metrics, policy, champion and champion.metrics)
    segment_table: list[dict[str, Any]] = []
    if champion is not None:
        reasons += _relative(candidate.metrics, champion.metrics, policy)
        segment_reasons, segment_table = _segment_regressions(candidate, champion, policy, flips)
        reasons += segment_reasons
    names = ("f1", "precision", "recall", "fpr", "pr_auc", "expected_cost_usd", "decline_rate")
    comparison = tuple(
        {
            "metric": name,
            "candidate": candidate.metrics[name],
            "champion": None if champion is None else champion.metrics[name],
        }
        for name in names
    )
    return GateDecision(
        passed=not reasons,
        reasons=tuple(reasons),
        comparison=comparison,
        segment_comparison=tuple(segment_table),
    )
