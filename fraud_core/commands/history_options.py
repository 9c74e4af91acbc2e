"""Options and steps shared by the commands that simulate a scored history (simulate, seed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click

DATE = click.DateTime(["%Y-%m-%d"])
MOMENT = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


def world_options(days: int, tx_per_day: int) -> Callable[[Callable], Callable]:
    """--days --seed --tx-per-day --end --drift-start --fraud-rate."""
    options = [
        click.option("--days", type=click.IntRange(1, 3650), default=days, show_default=True,
                     help="Days of history."),
        click.option("--seed", type=click.IntRange(0), default=0, show_default=True,
                     help="Random seed: the same seed and dates give the same history."),
        click.option("--tx-per-day", type=click.IntRange(10, 1_000_000), default=tx_per_day,
                     show_default=True, help="Payments per day."),
        click.option("--end", type=DATE, default=None,
                     help="Last simulated day, before today (default: yesterday, UTC)."),
        click.option("--drift-start", type=DATE, default=None,
                     help="First day of the case-study drift (default: 180 days before the "
                     "end, so the history ends fully drifted)."),
        click.option("--fraud-rate", type=click.FloatRange(0.0001, 0.1), default=0.005,
                     show_default=True, help="Share of fraudulent payments."),
    ]  # fmt: skip

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def scoring_options(command: Callable) -> Callable:
    """--model --threshold --exploration --max-explore-usd."""
    options = [
        click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     default=None, help="XGBoost model file to score with (default: the "
                     "transparent rule `fraud_core.simulation.decisions.RULE_POINTS`)."),
        click.option("--threshold", type=click.FloatRange(0.0, 1.0), default=0.5,
                     show_default=True, help="Block at score >= threshold."),
        click.option("--exploration", type=click.FloatRange(0.0, 0.5, max_open=True),
                     default=0.05, show_default=True,
                     help="Share of would-block payments approved anyway (logged propensity)."),
        click.option("--max-explore-usd", type=click.FloatRange(0.0, min_open=True),
                     default=1000.0, show_default=True,
                     help="Never explore payments above this amount."),
    ]  # fmt: skip
    for option in reversed(options):
        command = option(command)
    return command


def world_config(
    days: int,
    tx_per_day: int,
    end: datetime | None,
    drift_start: datetime | None,
    fraud_rate: float,
) -> Any:
    """The WorldConfig of the options; the history must end before today (UTC)."""
    from fraud_core.simulation import DriftSchedule, WorldConfig

    today = datetime.now(UTC).date()
    last: date = end.date() if end else today - timedelta(days=1)
    if last >= today:
        raise click.BadParameter(f"{last} is not before today ({today}, UTC)", param_hint="--end")
    drift = DriftSchedule.case_study(drift_start.date()) if drift_start else None
    return WorldConfig.ending(last, days, tx_per_day=tx_per_day, fraud_rate=fraud_rate, drift=drift)


def labels_as_of(as_of: datetime | None) -> datetime:
    """The moment labels are reported by: now by default, never in the future."""
    now = datetime.now(UTC)
    if as_of is None:
        return now
    as_of = as_of.replace(tzinfo=UTC)
    if as_of > now:
        raise click.BadParameter(f"{as_of:%Y-%m-%d %H:%M} is in the future", param_hint="--as-of")
    return as_of


@dataclass(frozen=True)
class Scorer:
    """What scores the simulated stream (from its feature matrix), and how it is named in the
    prediction log."""

    model_version: str
    description: str
    score: Callable[[Any], Any]


def scorer(model: Path | None) -> Scorer:
    """The given XGBoost model file, or the transparent rule when there is none."""
    from fraud_core.simulation.decisions import RULE_VERSION, rule_scores

    if model is None:
        return Scorer(RULE_VERSION, f"the transparent rule {RULE_VERSION} (no model given)",
                      rule_scores)  # fmt: skip
    import xgboost

    from fraud_core.features import FEATURE_NAMES

    classifier = xgboost.XGBClassifier()
    try:
        classifier.load_model(model)
    except (xgboost.core.XGBoostError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0]
        raise click.BadParameter(f"not an XGBoost model: {reason}", param_hint="--model") from None
    if classifier.n_features_in_ != len(FEATURE_NAMES):
        raise click.BadParameter(
            f"the model takes {classifier.n_features_in_} features, the pipeline makes "
            f"{len(FEATURE_NAMES)}", param_hint="--model",
        )  # fmt: skip
    return Scorer(f"file:{model.stem}"[:32], f"the model {model}",
                  lambda features: classifier.predict_proba(features)[:, 1])  # fmt: skip
