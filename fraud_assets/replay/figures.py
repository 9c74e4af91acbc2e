"""The replay's figures: weekly true FPR, recall, decline rate and money cost per arm, the
month-6 figures, and the targets of the replay issue checked against them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fraud_assets.replay.world import ReplayWorld
from fraud_core.fpr_lines import FPR_AFTER_FIX, FPR_WARNING

WEEK_DAYS = 7
MONTH_DAYS = 30
"""Month 6 is the last 30 drift days (days 150-179 of the case study's six months; the last
30 of a shorter replay)."""


def rates(blocked: np.ndarray, is_fraud: np.ndarray, amount_usd: np.ndarray) -> dict[str, float]:
    """True FPR, recall, decline rate and money cost (`evaluation.Costs`) of decisions."""
    from fraud_core.evaluation import Costs

    costs = Costs()
    legit, fraud = ~is_fraud, is_fraud
    false_blocks = costs.false_block(amount_usd[blocked & legit]).sum()
    missed = costs.missed_fraud(amount_usd[~blocked & fraud]).sum()
    return {
        "payments": int(len(blocked)),
        "fpr": float(blocked[legit].mean()) if legit.any() else float("nan"),
        "recall": float(blocked[fraud].mean()) if fraud.any() else float("nan"),
        "decline_rate": float(blocked.mean()) if len(blocked) else float("nan"),
        "cost_usd": float(false_blocks + missed),
        "false_block_usd": float(false_blocks),
        "missed_fraud_usd": float(missed),
    }


@dataclass(frozen=True)
class ArmFigures:
    """One arm over the drift months."""

    name: str
    weekly: pd.DataFrame
    month_6: dict[str, float]
    total: dict[str, float]

    def as_json(self) -> dict[str, Any]:
        return {
            "weekly": self.weekly.to_dict("records"),
            "month_6": self.month_6,
            "total": self.total,
        }


def arm_figures(name: str, world: ReplayWorld, blocked: np.ndarray) -> ArmFigures:
    """`blocked`: the arm's final decision on every drift-period payment, in world order."""
    rows = world.drift
    fraud, usd = world.is_fraud[rows], world.amount_usd[rows]
    day = world.drift_day(rows)
    week = day // WEEK_DAYS
    weekly = pd.DataFrame(
        [
            {
                "week": int(w),
                "first_day": int(w * WEEK_DAYS),
                **rates(blocked[week == w], fraud[week == w], usd[week == w]),
            }
            for w in np.unique(week)
        ]
    )
    last = day >= max(0, world.size.drift_days - MONTH_DAYS)
    return ArmFigures(
        name, weekly, rates(blocked[last], fraud[last], usd[last]), rates(blocked, fraud, usd)
    )


@dataclass(frozen=True)
class Target:
    name: str
    met: bool
    figure: str

    def as_json(self) -> dict[str, Any]:
        return {"target": self.name, "met": self.met, "figure": self.figure}


def targets(
    static: ArmFigures,
    platform: ArmFigures,
    first_alarm_days: float | None,
    promotions: list[dict[str, Any]],
) -> list[Target]:
    """The replay issue's targets on these figures (whatever they are: nothing is tuned)."""
    weeks_over = int((platform.weekly["fpr"] > FPR_WARNING).sum())
    worse = [p for p in promotions if p.get("worse")]
    return [
        Target(
            "static: month-6 FPR >= 12% (the incident happens)",
            static.month_6["fpr"] >= FPR_WARNING,
            f"{static.month_6['fpr']:.2%}",
        ),
        Target(
            f"platform: month-6 true FPR <= {FPR_AFTER_FIX:.1%}",
            platform.month_6["fpr"] <= FPR_AFTER_FIX,
            f"{platform.month_6['fpr']:.2%}",
        ),
        Target(
            "platform: month-6 recall >= static's - 2 points",
            platform.month_6["recall"] >= static.month_6["recall"] - 0.02,
            f"{platform.month_6['recall']:.2%} vs static {static.month_6['recall']:.2%}",
        ),
        Target(
            "platform: weekly FPR above 12% in at most 2 of the weeks",
            weeks_over <= 2,
            f"{weeks_over} of {len(platform.weekly)} weeks",
        ),
        Target(
            "platform: six-month cost at most half the static arm's",
            platform.total["cost_usd"] <= 0.5 * static.total["cost_usd"],
            f"{platform.total['cost_usd']:,.0f} vs static {static.total['cost_usd']:,.0f} USD"
            f" ({platform.total['cost_usd'] / static.total['cost_usd']:.0%})",
        ),
        Target(
            "first alarm within 35 days of drift onset",
            first_alarm_days is not None and first_alarm_days <= 35,
            "no alarm" if first_alarm_days is None else f"{first_alarm_days:.1f} days",
        ),
        Target(
            "no promoted model worse than the champion it replaced (next 30 days, cost)",
            not worse,
            f"{len(worse)} of {len(promotions)} promotions worse",
        ),
    ]
