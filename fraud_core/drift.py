"""Drift of recent traffic against a model's reference sample, one named method per column.

Columns are the model's features with one-hot groups folded back into their category
(`payment_method`, `wallet`, ...) and calendar features left out, plus `score`. A window of
recent traffic shorter than a day has its own hour-of-day mix (customers in other time zones,
evening peaks): the reference is resampled to the window's hours (`match_hours`) so that time
of day is not reported as drift.
Methods, chosen per column and named in every result:
- `wasserstein` (Wasserstein distance normed by the reference std) for numeric features;
- `jensenshannon` (Jensen-Shannon distance) for binary and categorical features;
- `quantile_psi` (PSI over reference deciles, registered with Evidently) for skewed amounts
  and the score: Evidently's built-in `psi` bins by equal width and misses a +30% inflation
  of a skewed amount; decile bins see it.
Evidently is imported inside functions only (its import costs ~15 s).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.features import FEATURE_NAMES
from fraud_core.monitoring_rules import DEFAULT_DRIFT_SHARE, THRESHOLDS

if TYPE_CHECKING:
    import pandas as pd

SCORE = "score"
HOUR = "hour"
"""UTC hour of day, carried beside the monitored columns for `match_hours` (not monitored)."""
CALENDAR_FEATURES = ("hour_sin", "hour_cos", "is_weekend")
ONE_HOT_GROUPS = {
    "payment_method": "pm_",
    "wallet": "wallet_",
    "channel": "channel_",
    "customer_region": "customer_region_",
    "merchant_region": "merchant_region_",
    "merchant_category": "mcc_",
}
SKEWED = ("amount_usd", SCORE)
PSI_BINS = 10
_PSI_FLOOR = 1e-4
_NONE = "none"


def _group_columns() -> dict[str, list[str]]:
    return {
        group: [n for n in FEATURE_NAMES if n.startswith(prefix)]
        for group, prefix in ONE_HOT_GROUPS.items()
    }


def _plain_features() -> list[str]:
    grouped = {c for cols in _group_columns().values() for c in cols}
    return [n for n in FEATURE_NAMES if n not in grouped and n not in CALENDAR_FEATURES]


def _is_binary(name: str) -> bool:
    return name.startswith("is_") or name in ("card_present", "device_age_missing")


def column_methods() -> dict[str, str]:
    """Monitored column -> drift method, in report order (features, then `score`)."""
    methods: dict[str, str] = {}
    for name in _plain_features():
        if name in SKEWED:
            methods[name] = "quantile_psi"
        else:
            methods[name] = "jensenshannon" if _is_binary(name) else "wasserstein"
    methods.update(dict.fromkeys(ONE_HOT_GROUPS, "jensenshannon"))
    methods[SCORE] = "quantile_psi"
    return methods


def categorical_columns() -> list[str]:
    return [c for c, m in column_methods().items() if m == "jensenshannon"]


def monitoring_frame(features: np.ndarray, scores: np.ndarray | None = None) -> pd.DataFrame:
    """The monitored columns of a feature matrix (FEATURE_NAMES order), its scores and `hour`.

    One-hot groups become one categorical column each (`none` when no member is set, as for
    a payment without a wallet); binary features become the categories `0`/`1`.
    """
    import pandas as pd

    features = np.asarray(features)
    if features.ndim != 2 or features.shape[1] != len(FEATURE_NAMES):
        raise ValueError(
            f"expected an n x {len(FEATURE_NAMES)} feature matrix, got {features.shape}"
        )
    index = {n: i for i, n in enumerate(FEATURE_NAMES)}
    data: dict[str, Any] = {}
    for name in _plain_features():
        column = features[:, index[name]]
        data[name] = (column > 0.5).astype(np.int8).astype(str) if _is_binary(name) else column
    for group, members in _group_columns().items():
        prefix = ONE_HOT_GROUPS[group]
        block = features[:, [index[m] for m in members]] > 0.5
        labels = np.array([m[len(prefix) :] for m in members] + [_NONE], dtype=object)
        picked = np.where(block.any(axis=1), block.argmax(axis=1), len(members))
        data[group] = labels[picked]
    if scores is not None:
        data[SCORE] = np.asarray(scores, dtype=np.float64)
    angle = np.arctan2(features[:, index["hour_sin"]], features[:, index["hour_cos"]])
    data[HOUR] = (np.floor(np.mod(angle * 12 / np.pi, 24) + 1e-6) % 24).astype(np.int8)
    return pd.DataFrame(data)


def quantile_psi(reference: Any, current: Any, n_bins: int = PSI_BINS) -> float:
    """Population stability index over bins cut at the reference's quantiles.

    Tied quantiles (point masses) merge into one bin; empty bins are floored at 1e-4.
    """
    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    ref, cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if ref.size == 0 or cur.size == 0:
        raise ValueError("quantile_psi needs non-empty reference and current samples")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, n_bins + 1)[1:-1]))
    bins = len(edges) + 1
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=bins) / ref.size
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=bins) / cur.size
    r, c = np.maximum(r, _PSI_FLOOR), np.maximum(c, _PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


def match_hours(reference: pd.DataFrame, current: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Reference rows drawn (without replacement) in the current window's hour-of-day mix.

    As many rows as the scarcest hour allows; the reference as is when an hour of the window
    never occurs in it.
    """
    hours = reference[HOUR].to_numpy()
    wanted = np.bincount(current[HOUR].to_numpy(), minlength=24) / len(current)
    available = np.bincount(hours, minlength=24)
    needed = wanted > 0
    if (available[needed] == 0).any():
        return reference
    take = np.floor(wanted * np.min(available[needed] / wanted[needed])).astype(int)
    rng = np.random.default_rng(seed)
    rows = [rng.choice(np.flatnonzero(hours == h), take[h], replace=False) for h in range(24)]
    return reference.iloc[np.sort(np.concatenate(rows))].reset_index(drop=True)


@cache
def register_quantile_psi() -> None:
    """Register `quantile_psi` as an Evidently stat test (once per process)."""
    from evidently.legacy.calculations.stattests.registry import StatTest, register_stattest
    from evidently.legacy.core import ColumnType

    def _test(reference, current, feature_type, threshold):
        value = quantile_psi(reference, current)
        return value, value >= threshold

    stat_test = StatTest(
        name="quantile_psi",
        display_name=f"PSI (reference {PSI_BINS}-quantile bins)",
        allowed_feature_types=[ColumnType.Numerical],
        default_threshold=THRESHOLDS["quantile_psi"],
    )
    register_stattest(stat_test, _test)


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    method: str
    score: float
    threshold: float

    @property
    def drifted(self) -> bool:
        return self.score >= self.threshold

    @property
    def severity(self) -> float:
        """Score as a multiple of its threshold: comparable across methods."""
        return self.score / self.threshold


@dataclass(frozen=True)
class DriftResult:
    """Per-column drift of one current window against a reference sample."""

    columns: tuple[ColumnDrift, ...]
    n_reference: int
    n_current: int
    drift_share: float = DEFAULT_DRIFT_SHARE
    html_path: Path | None = None
    json_path: Path | None = None
    png_path: Path | None = None

    @property
    def features(self) -> tuple[ColumnDrift, ...]:
        return tuple(c for c in self.columns if c.column != SCORE)

    @property
    def score(self) -> ColumnDrift:
        return next(c for c in self.columns if c.column == SCORE)

    @property
    def drifted_share(self) -> float:
        features = self.features
        return sum(c.drifted for c in features) / len(features)

    @property
    def dataset_drift(self) -> bool:
        """Evidently's dataset rule: at least `drift_share` of the features drifted."""
        return self.drifted_share >= self.drift_share

    @property
    def detected(self) -> bool:
        """Dataset drift, or drift of the score distribution alone."""
        return self.dataset_drift or self.score.drifted

    def top(self, k: int = 10) -> list[ColumnDrift]:
        return sorted(self.columns, key=lambda c: c.severity, reverse=True)[:k]

    def reason(self) -> str:
        """One line: what drifted, by which method, against which threshold."""
        drifted = [c for c in self.top(len(self.columns)) if c.drifted]
        listed = ", ".join(f"{c.column} {c.method}={c.score:.3f}>={c.threshold}" for c in drifted)
        return (
            f"{len([c for c in drifted if c.column != SCORE])}/{len(self.features)} features "
            f"drifted (share {self.drifted_share:.2f}, dataset threshold {self.drift_share}); "
            f"score {self.score.method}={self.score.score:.3f}"
            + (f"; drifted: {listed}" if listed else "")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_reference": self.n_reference,
            "n_current": self.n_current,
            "drift_share": self.drift_share,
            "drifted_share": self.drifted_share,
            "dataset_drift": self.dataset_drift,
            "score_drift": self.score.drifted,
            "detected": self.detected,
            "columns": [{**asdict(c), "drifted": c.drifted} for c in self.columns],
        }


def compute_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    drift_share: float = DEFAULT_DRIFT_SHARE,
    thresholds: dict[str, float] | None = None,
    out_dir: Path | None = None,
    stem: str = "drift",
) -> DriftResult:
    """Run the Evidently report of `current` against `reference` (frames of `monitoring_frame`),
    the reference matched to the current window's hours of day.

    With `out_dir`, saves the report's files there (`reports.drift.save_drift_report`).
    """
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    register_quantile_psi()
    limits = {**THRESHOLDS, **(thresholds or {})}
    methods = {c: m for c, m in column_methods().items() if c in reference.columns}
    missing = [c for c in methods if c not in current.columns]
    if missing or SCORE not in methods:
        raise ValueError(f"drift frames lack columns {missing or [SCORE]}")
    categorical = [c for c in methods if methods[c] == "jensenshannon"]
    definition = DataDefinition(
        numerical_columns=[c for c in methods if c not in categorical],
        categorical_columns=categorical,
    )
    report = Report(
        [ValueDrift(column=c, method=m, threshold=limits[m]) for c, m in methods.items()],
        include_tests=True,
    )
    columns = list(methods)
    reference = match_hours(reference, current)
    snapshot = report.run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )
    values = {m["config"]["column"]: float(m["value"]) for m in snapshot.dict()["metrics"]}
    result = DriftResult(
        columns=tuple(ColumnDrift(c, m, values[c], limits[m]) for c, m in methods.items()),
        n_reference=len(reference),
        n_current=len(current),
        drift_share=drift_share,
    )
    if out_dir is None:
        return result
    from fraud_core.reports.drift import save_drift_report

    return save_drift_report(snapshot, result, out_dir, stem)
