"""The replay report under `var/reports/replay/`: a self-contained HTML page with the plots, a
PNG of the weekly series and a JSON summary (per arm: the weekly series and month-6 figures).
Arms and targets are `fraud_assets.replay.figures`' `ArmFigures` and `Target`."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from fraud_core.fpr_lines import FPR_AFTER_FIX, FPR_WARNING
from fraud_core.reports.figures import html_table, new_figure, png_data_uri, save_png

ARM_COLORS = {"static": "tab:red", "platform": "tab:blue", "oracle": "tab:green"}
MARKERS = {"promotion": ("tab:blue", "-"), "rollback": ("tab:orange", "--")}


def weekly_png(arms: list[Any], events: list[dict[str, Any]], onset: datetime, path: Path) -> Path:
    """Weekly true FPR, recall, decline rate and cost of each arm; promotions and rollbacks
    of the platform as vertical lines."""
    from matplotlib.ticker import PercentFormatter

    panels = [
        ("fpr", "true FPR (legitimate payments blocked)", True),
        ("recall", "fraud recall", True),
        ("decline_rate", "decline rate", True),
        ("cost_usd", "money cost per week (USD)", False),
    ]
    figure = new_figure(12, 7.5)
    axes = figure.subplots(2, 2, sharex=True)
    for axis, (column, title, percent) in zip(axes.flat, panels, strict=True):
        for arm in arms:
            axis.plot(
                arm.weekly["week"],
                arm.weekly[column],
                marker=".",
                color=ARM_COLORS.get(arm.name),
                label=arm.name,
            )
        for event in events:
            if event["kind"] in MARKERS:
                color, style = MARKERS[event["kind"]]
                week = (event["at"] - onset).total_seconds() / (7 * 86400)
                axis.axvline(week, color=color, linestyle=style, alpha=0.35, linewidth=1)
        if column == "fpr":
            line = f"{FPR_WARNING:.0%} line"
            axis.axhline(FPR_WARNING, color="tab:red", linestyle=":", linewidth=1, label=line)
            goal = f"{FPR_AFTER_FIX:.1%} goal"
            axis.axhline(FPR_AFTER_FIX, color="tab:green", linestyle=":", linewidth=1, label=goal)
        if percent:
            axis.yaxis.set_major_formatter(PercentFormatter(1.0))
        axis.set_title(title, fontsize=10)
        axis.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    for axis in axes[1]:
        axis.set_xlabel("week since drift onset (blue lines: promotions, orange: rollbacks)")
    figure.suptitle("Six months of drift: static model vs the platform vs an oracle")
    path.parent.mkdir(parents=True, exist_ok=True)
    return save_png(figure, path, dpi=110)


def _fmt(column: str, value: Any) -> str:
    if isinstance(value, float):
        return (
            f"{value:,.0f}"
            if abs(value) >= 100
            else f"{value:.2%}"
            if value <= 1
            else f"{value:.2f}"
        )
    return str(value)


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    return html_table(rows, columns, _fmt)


def write_report(
    folder: Path,
    summary: dict[str, Any],
    arms: list[Any],
    targets: list[Any],
    events: list[dict[str, Any]],
    onset: datetime,
) -> Path:
    """`replay.html`, `replay-weekly.png` and `replay.json` in `folder`; the HTML's path."""
    folder.mkdir(parents=True, exist_ok=True)
    png = weekly_png(arms, events, onset, folder / "replay-weekly.png")
    (folder / "replay.json").write_text(json.dumps(summary, indent=2, default=str))
    month6 = [{"arm": a.name, **a.month_6} for a in arms]
    total = [{"arm": a.name, **a.total} for a in arms]
    figure_cols = [
        "arm",
        "fpr",
        "recall",
        "decline_rate",
        "cost_usd",
        "false_block_usd",
        "missed_fraud_usd",
        "payments",
    ]
    target_rows = [
        {"target": t.name, "met": "yes" if t.met else "NO", "figure": t.figure} for t in targets
    ]
    timeline_rows = [
        {"at": e["at"].strftime("%Y-%m-%d %H:%M"), "what": e["kind"], "why": e["detail"][:400]}
        for e in events
    ]
    settings = [{"setting": k, "value": v} for k, v in summary["settings"].items()]
    promotions = [
        {
            "at": p["at"].strftime("%Y-%m-%d"),
            "from": p["from"],
            "to": p["to"],
            "FPR before": p["before"]["fpr"],
            "FPR after": p["after"]["fpr"],
            "recall before": p["before"]["recall"],
            "recall after": p["after"]["recall"],
            "cost before": p["before"]["cost_usd"],
            "cost after": p["after"]["cost_usd"],
            "worse": "yes" if p["worse"] else "no",
        }
        for p in summary["promotions"]
    ]
    policy = summary["policy_contribution"]
    policy_rows = [{"decisions": k, **policy[k]} for k in ("with_policy", "same_models_at_0.5")]
    first = summary["first_alarm_days"]
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>fraud-mlops replay, seed {summary["seed"]}</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:1em 0;font-size:13px}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}}th{{background:#f3f3f3}}</style>
</head><body>
<h1>The incident, replayed through the platform</h1>
<p>Seed {summary["seed"]}, {summary["tx_per_day"]:,} payments a day, drift onset
{onset:%Y-%m-%d}, {summary["drift_days"]} drift days after {summary["pre_drift_days"]} seeded
pre-drift days. Same payments and fraud for the three arms. First alarm:
<b>{"never" if first is None else f"{first:.1f} days after onset"}</b>.
Replay took {summary["timing"]["total_seconds"]:.0f} s.</p>
<h2>Targets</h2>{_table(target_rows, ["target", "met", "figure"])}
<h2>Month 6</h2>{_table(month6, figure_cols)}
<h2>Six months</h2>{_table(total, figure_cols)}
<img src="{png_data_uri(png.read_bytes())}" style="max-width:100%">
<h2>Promotions, judged on the next 30 days of true outcomes</h2>
{_table(promotions, list(promotions[0]) if promotions else ["at"])}
<h2>What the threshold policy contributed (platform models, six months)</h2>
{_table(policy_rows, ["decisions", "fpr", "recall", "decline_rate", "cost_usd"])}
<h2>Platform settings</h2>{_table(settings, ["setting", "value"])}
<h2>Timeline: what the platform did and why</h2>{_table(timeline_rows, ["at", "what", "why"])}
</body></html>"""
    path = folder / "replay.html"
    path.write_text(page)
    return path
