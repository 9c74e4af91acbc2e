"""The executive report: what the model's decisions cost, week by week, and what each release
changed. Built from `monitoring_metrics` (figures of `model_performance`,
`performance_estimate`, `drift_report`), weekly decision counts and the audit log.

Per week (weeks start Monday 00:00 UTC; a figure belongs to the week its window ends in, the
latest computation wins):
- FPR of the champion over all traffic: realized (`fpr`, labels matured) when measured, else
  the label-free estimate (`fpr_estimate`), with the source shown;
- legitimate customers blocked ~ blocked payments x (1 - precision), or FPR x payments when
  precision is unknown;
- money lost to missed fraud and to false declines: the per-1,000-payment costs
  (`expected_cost_missed_fraud`, `expected_cost_false_block`, priced by `evaluation.Costs`)
  times the week's payments / 1,000;
- whether a drift report flagged drift that week.
Each promotion, rollback (of the champion or of a canary) and threshold-policy update is
listed with the FPR of the last measured week before it and the first one after it.
The chart and the page: `fraud_core/reports/business_impact.py`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from fraud_core.fpr_lines import FPR_CRITICAL, FPR_WARNING

if TYPE_CHECKING:
    import pandas as pd

REPORT_METRICS = (
    "fpr",
    "fpr_estimate",
    "precision",
    "precision_estimate",
    "expected_cost_false_block",
    "expected_cost_false_block_estimate",
    "expected_cost_missed_fraud",
    "expected_cost_missed_fraud_estimate",
    "drift_detected",
)
RELEASE_COLUMNS = ("at", "action", "subject", "change", "reason", "fpr_before", "fpr_after")
RELEASE_ACTIONS = ("promote", "rollback", "release.rollback", "policy.update")
WEEK_COLUMNS = (
    "week",
    "payments",
    "blocked",
    "fpr",
    "fpr_source",
    "fpr_estimate",
    "legit_blocked",
    "missed_fraud_usd",
    "false_decline_usd",
    "drift",
)
PERCENT_COLUMNS = frozenset({"fpr", "fpr_estimate", "fpr_realized", "fpr_before", "fpr_after"})
USD_COLUMNS = frozenset({"missed_fraud_usd", "false_decline_usd"})
COUNT_COLUMNS = frozenset({"payments", "blocked", "legit_blocked"})


def week_start(moment: Any) -> pd.Timestamp:
    """Monday 00:00 UTC of the week containing `moment`."""
    import pandas as pd

    stamp = pd.Timestamp(moment)
    stamp = stamp.tz_localize("UTC") if stamp.tz is None else stamp.tz_convert("UTC")
    day = stamp.normalize()
    return day - pd.Timedelta(days=day.weekday())


@dataclass
class ImpactReport:
    as_of: datetime
    weeks: list[dict[str, Any]]
    releases: list[dict[str, Any]]
    policy_version: str
    totals: dict[str, float] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return any(w["fpr"] is not None for w in self.weeks)

    @property
    def latest(self) -> dict[str, Any] | None:
        measured = [w for w in self.weeks if w["fpr"] is not None]
        return measured[-1] if measured else None


def _latest_per_week(history: pd.DataFrame, metric: str) -> dict[pd.Timestamp, float]:
    """Champion figure over all traffic (drift: any row) per week, latest computation."""
    rows = history[history["metric"] == metric]
    if metric != "drift_detected":
        rows = rows[(rows["variant"] == "champion") & rows["segment"].isna()]
    out: dict[pd.Timestamp, float] = {}
    if metric == "drift_detected":
        for row in rows.itertuples():
            week = week_start(row.window_end - timedelta(microseconds=1))
            out[week] = max(out.get(week, 0.0), float(row.value))
        return out
    for row in rows.sort_values(["computed_at", "id"]).itertuples():
        out[week_start(row.window_end - timedelta(microseconds=1))] = float(row.value)
    return out


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None and np.isfinite(v)), None)


def weekly_figures(
    history: pd.DataFrame,
    counts: Mapping[pd.Timestamp, Mapping[str, int]],
) -> list[dict[str, Any]]:
    """One row per week of `counts` (week start -> decisions counted that week)."""
    series = {m: _latest_per_week(history, m) for m in REPORT_METRICS} if len(history) else {}

    def get(metric: str, week: pd.Timestamp) -> float | None:
        return series.get(metric, {}).get(week)

    weeks = []
    for week in sorted(counts):
        payments = int(sum(counts[week].values()))
        blocked = int(counts[week].get("block", 0))
        realized, estimate = get("fpr", week), get("fpr_estimate", week)
        fpr = _first(realized, estimate)
        precision = (
            _first(get("precision", week), get("precision_estimate", week))
            if realized is not None
            else _first(get("precision_estimate", week), get("precision", week))
        )
        suffix = "" if realized is not None else "_estimate"
        false_block = _first(
            get(f"expected_cost_false_block{suffix}", week), get("expected_cost_false_block", week)
        )
        missed = _first(
            get(f"expected_cost_missed_fraud{suffix}", week),
            get("expected_cost_missed_fraud", week),
        )
        if fpr is None:
            legit_blocked = None
        elif precision is not None and blocked:
            legit_blocked = blocked * (1.0 - precision)
        else:
            legit_blocked = fpr * payments
        drift = get("drift_detected", week)
        weeks.append(
            {
                "week": week.date().isoformat(),
                "week_start": week,
                "payments": payments,
                "blocked": blocked,
                "fpr": fpr,
                "fpr_source": "realized"
                if realized is not None
                else ("estimate" if fpr is not None else None),
                "fpr_realized": realized,
                "fpr_estimate": estimate,
                "legit_blocked": legit_blocked,
                "missed_fraud_usd": None if missed is None else missed * payments / 1000,
                "false_decline_usd": None if false_block is None else false_block * payments / 1000,
                "drift": None if drift is None else bool(drift),
            }
        )
    return weeks


def release_changes(
    entries: Sequence[Mapping[str, Any]], weeks: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Each promotion, rollback and policy update (oldest first), with the FPR of the last
    measured week before it and the first measured week after it."""
    measured = [w for w in weeks if w["fpr"] is not None]
    out = []
    for entry in sorted(entries, key=lambda e: (e["at"], e["id"])):
        at = entry["at"]
        week = week_start(at)
        before = [w for w in measured if w["week_start"] < week]
        after = [w for w in measured if w["week_start"] > week]
        details = entry.get("details") or {}
        if entry["action"] == "policy.update":
            change = ", ".join(
                f"{s} {c['from']}->{c['to']}" for s, c in sorted(details.get("changes", {}).items())
            )
            model = details.get("model_version")
            of = f" of {details.get('role', 'model')} v{model}" if model else ""
            what = f"thresholds {details.get('policy_version')}{of}: {change or 'unchanged'}"
        elif entry["action"] == "release.rollback":
            what = f"canary {details.get('version')} rolled back and rejected"
        else:
            moves = details.get("moves", [])
            what = ", ".join(f"{m['alias']} {m['from']}->{m['to']}" for m in moves) or "-"
        out.append(
            {
                "at": at.isoformat(timespec="minutes") if hasattr(at, "isoformat") else str(at),
                "action": entry["action"],
                "subject": entry["subject"],
                "change": what,
                "reason": entry["reason"],
                "fpr_before": before[-1]["fpr"] if before else None,
                "fpr_after": after[0]["fpr"] if after else None,
            }
        )
    return out


def build_report(
    history: pd.DataFrame,
    counts: Mapping[pd.Timestamp, Mapping[str, int]],
    audit: Sequence[Mapping[str, Any]],
    *,
    as_of: datetime,
    policy_version: str,
) -> ImpactReport:
    weeks = weekly_figures(history, counts)
    totals = {
        "payments": float(sum(w["payments"] for w in weeks)),
        "blocked": float(sum(w["blocked"] for w in weeks)),
        "legit_blocked": float(sum(w["legit_blocked"] or 0.0 for w in weeks)),
        "missed_fraud_usd": float(sum(w["missed_fraud_usd"] or 0.0 for w in weeks)),
        "false_decline_usd": float(sum(w["false_decline_usd"] or 0.0 for w in weeks)),
    }
    return ImpactReport(
        as_of=as_of,
        weeks=weeks,
        releases=release_changes(audit, weeks),
        policy_version=policy_version,
        totals=totals,
    )


def _status(fpr: float) -> str:
    if fpr > FPR_CRITICAL:
        return f"**above the {FPR_CRITICAL:.0%} critical line**"
    if fpr > FPR_WARNING:
        return f"**above the {FPR_WARNING:.0%} alert line**"
    return f"under the {FPR_WARNING:.0%} alert line"


def summary_markdown(report: ImpactReport) -> str:
    if not report.has_data:
        payments = int(report.totals.get("payments", 0))
        return (
            f"**No data yet** (as of {report.as_of:%Y-%m-%d %H:%M} UTC): no FPR has been "
            f"measured or estimated for the {len(report.weeks)} weeks of the report "
            f"({payments:,} payments logged). Materialize `model_performance` / "
            "`performance_estimate` once predictions (and labels) are in the store. "
            f"Threshold policy in force: `{report.policy_version}`; "
            f"{len(report.releases)} release decisions in the audit log."
        )
    latest = report.latest
    assert latest is not None
    t = report.totals
    above = [w["week"] for w in report.weeks if w["fpr"] is not None and w["fpr"] > FPR_WARNING]
    lines = [
        f"**FPR {latest['fpr']:.1%}** ({latest['fpr_source']}, week of {latest['week']}): "
        f"{_status(latest['fpr'])}.",
        f"- Over {len(report.weeks)} weeks: {int(t['payments']):,} payments, "
        f"{int(t['blocked']):,} blocked, about **{t['legit_blocked']:,.0f} legitimate "
        "customers blocked**.",
        f"- Money lost: **{t['missed_fraud_usd']:,.0f} USD to missed fraud**, "
        f"**{t['false_decline_usd']:,.0f} USD to false declines** "
        f"(total {t['missed_fraud_usd'] + t['false_decline_usd']:,.0f} USD).",
        f"- Weeks above the {FPR_WARNING:.0%} line: {', '.join(above) if above else 'none'}.",
        f"- Threshold policy in force: `{report.policy_version}`; "
        f"{len(report.releases)} release decisions (promotions, rollbacks, policy updates).",
    ]
    return "\n".join(lines)


def format_cell(column: str, value: Any) -> str:
    """A report cell formatted by what its column holds, never by the value's size."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if column in PERCENT_COLUMNS:
        return f"{value:.2%}"
    if column in USD_COLUMNS:
        return f"{value:,.2f} USD"
    if column in COUNT_COLUMNS:
        return f"{value:,.0f}"
    return str(value)
