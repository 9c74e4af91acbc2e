"""The executive report's page (`business_impact.build_report`'s figures): the weekly chart
and a self-contained HTML page with it embedded."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from fraud_core.business_impact import (
    RELEASE_COLUMNS,
    WEEK_COLUMNS,
    ImpactReport,
    format_cell,
    week_start,
)
from fraud_core.fpr_lines import FPR_CRITICAL, FPR_WARNING
from fraud_core.reports.figures import html_table, new_figure, png_bytes, png_data_uri


def chart_png(report: ImpactReport, path: Any) -> bytes:
    """Weekly FPR with the 12%/15% lines and release markers, and weekly money lost."""
    fig = new_figure(10, 6.5)
    top, bottom = fig.subplots(2, 1, sharex=True)
    x = [w["week_start"].to_pydatetime() for w in report.weeks]
    if report.has_data:
        realized = [w["fpr_realized"] for w in report.weeks]
        estimate = [w["fpr_estimate"] for w in report.weeks]
        nan = float("nan")
        top.plot(x, [nan if v is None else v for v in realized], "o-", label="FPR (realized)")
        top.plot(x, [nan if v is None else v for v in estimate], "s--", label="FPR (estimate)")
        missed = np.array([w["missed_fraud_usd"] or 0.0 for w in report.weeks])
        declines = np.array([w["false_decline_usd"] or 0.0 for w in report.weeks])
        bottom.bar(x, missed, width=5, label="missed fraud", color="tab:red")
        bottom.bar(x, declines, width=5, bottom=missed, label="false declines", color="tab:orange")
        bottom.legend(fontsize=8)
    else:
        top.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=top.transAxes)
    top.axhline(FPR_WARNING, color="orange", linestyle=":", label=f"{FPR_WARNING:.0%} alert")
    top.axhline(FPR_CRITICAL, color="red", linestyle=":", label=f"{FPR_CRITICAL:.0%} critical")
    for release in report.releases:
        if release["action"] in ("promote", "rollback", "release.rollback"):
            color = "tab:green" if release["action"] == "promote" else "tab:red"
            at = week_start(release["at"]).to_pydatetime()
            for ax in (top, bottom):
                ax.axvline(at, color=color, alpha=0.6)
            top.annotate(
                f"{release['action']} {release['subject'].rsplit('/', 1)[-1]}",
                (at, FPR_CRITICAL),
                fontsize=7,
                rotation=90,
                va="bottom",
            )
    top.set_ylabel("false-positive rate")
    measured = [w["fpr"] for w in report.weeks if w["fpr"] is not None]
    top.set_ylim(0, max([FPR_CRITICAL * 1.3, *(1.1 * v for v in measured)]))
    top.legend(fontsize=8, loc="upper left")
    top.set_title(f"Business impact as of {report.as_of:%Y-%m-%d}")
    bottom.set_ylabel("USD lost per week")
    fig.autofmt_xdate()
    data = png_bytes(fig, dpi=90)
    with open(path, "wb") as file:
        file.write(data)
    return data


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    return html_table(rows, columns, format_cell) if rows else "<p><em>none</em></p>"


def render_html(report: ImpactReport, summary: str, png: bytes) -> str:
    """A self-contained page: summary, chart (embedded), weekly table, release decisions."""
    summary_html = "<br>".join(
        re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(line))
        for line in summary.splitlines()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Fraud model business impact</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;padding:3px 6px}}
</style></head><body>
<h1>Fraud model business impact</h1>
<p>{summary_html}</p>
<img alt="weekly FPR and money lost" src="{png_data_uri(png)}">
<h2>Weekly figures</h2>
{_table(report.weeks, WEEK_COLUMNS)}
<h2>Releases and policy updates</h2>
{_table(report.releases, RELEASE_COLUMNS)}
<p><small>FPR lines: {FPR_WARNING:.0%} alert, {FPR_CRITICAL:.0%} critical. Realized figures
need matured labels (weeks to months); estimates are label-free and blind to drift in
P(fraud | payment).</small></p>
</body></html>
"""
