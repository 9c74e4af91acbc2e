"""Business report figures from metric history, decision counts and audit entries."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from fraud_core.business_impact import (
    ImpactReport,
    build_report,
    format_cell,
    summary_markdown,
    week_start,
)
from fraud_core.reports.business_impact import chart_png, render_html

MON = pd.Timestamp("2026-03-02", tz="UTC")  # a Monday


def _rows(*rows: tuple) -> pd.DataFrame:
    """(metric, value, window_end, computed_at offset hours, variant, segment)"""
    return pd.DataFrame(
        [
            {
                "id": i,
                "metric": metric,
                "value": value,
                "window_end": end,
                "computed_at": end + pd.Timedelta(hours=hours),
                "variant": variant,
                "segment": segment,
            }
            for i, (metric, value, end, hours, variant, segment) in enumerate(rows)
        ]
    )


def test_weeks_start_on_monday_utc() -> None:
    assert week_start(datetime(2026, 3, 8, 23, 59, tzinfo=UTC)) == MON
    assert week_start(MON) == MON


def test_weekly_figures_prefer_realized_and_price_per_1000() -> None:
    w1, w2 = MON, MON + pd.Timedelta(weeks=1)
    history = _rows(
        ("fpr", 0.10, w1 + pd.Timedelta(days=3), 0, "champion", None),
        ("fpr", 0.14, w1 + pd.Timedelta(days=4), 5, "champion", None),  # later: wins
        ("fpr", 0.50, w1 + pd.Timedelta(days=4), 9, "canary", None),  # not the champion
        ("fpr", 0.60, w1 + pd.Timedelta(days=4), 9, "champion", "small|new"),  # a segment
        ("fpr_estimate", 0.09, w1 + pd.Timedelta(days=4), 0, "champion", None),
        ("precision", 0.4, w1 + pd.Timedelta(days=4), 0, "champion", None),
        ("expected_cost_missed_fraud", 500.0, w1 + pd.Timedelta(days=4), 0, "champion", None),
        ("expected_cost_false_block", 200.0, w1 + pd.Timedelta(days=4), 0, "champion", None),
        ("fpr_estimate", 0.05, w2 + pd.Timedelta(days=1), 0, "champion", None),
        (
            "expected_cost_false_block_estimate",
            80.0,
            w2 + pd.Timedelta(days=1),
            0,
            "champion",
            None,
        ),
        ("drift_detected", 1.0, w2 + pd.Timedelta(days=1), 0, "champion", None),
    )
    counts = {
        w1: {"approve": 1900, "block": 100},
        w2: {"approve": 1000},
        w2 + pd.Timedelta(weeks=1): {},
    }
    rollback_moves = {"moves": [{"alias": "champion", "from": "4", "to": "3"}]}
    policy_changes = {"policy_version": "p", "changes": {"medium|new": {"from": 0.5, "to": 0.8}}}
    audit = [
        {"id": 2, "at": w2 + pd.Timedelta(days=2), "action": "rollback",
         "subject": "fraud-detector/3", "reason": "FPR", "details": rollback_moves},
        {"id": 1, "at": w1 + pd.Timedelta(days=2), "action": "policy.update",
         "subject": "policy/p", "reason": "learned", "details": policy_changes},
    ]  # fmt: skip
    report = build_report(history, counts, audit, as_of=w2.to_pydatetime(), policy_version="p")
    first, second, third = report.weeks
    assert first["fpr"] == 0.14 and first["fpr_source"] == "realized"
    assert first["fpr_estimate"] == 0.09
    assert first["legit_blocked"] == pytest.approx(100 * 0.6)  # blocked x (1 - precision)
    assert first["missed_fraud_usd"] == pytest.approx(500 * 2000 / 1000)
    assert first["false_decline_usd"] == pytest.approx(200 * 2000 / 1000)
    assert first["drift"] is None
    assert second["fpr"] == 0.05 and second["fpr_source"] == "estimate"
    assert second["legit_blocked"] == pytest.approx(0.05 * 1000)  # no blocks: FPR x payments
    assert second["false_decline_usd"] == pytest.approx(80.0) and second["drift"] is True
    assert second["missed_fraud_usd"] is None
    assert third["fpr"] is None and third["payments"] == 0
    assert report.totals["legit_blocked"] == pytest.approx(110.0)
    policy, rollback = report.releases  # oldest first
    assert policy["change"] == "thresholds p: medium|new 0.5->0.8"
    assert policy["fpr_before"] is None and policy["fpr_after"] == 0.05
    assert rollback["change"] == "champion 4->3"
    assert rollback["fpr_before"] == 0.14 and rollback["fpr_after"] is None
    summary = summary_markdown(report)
    assert summary.startswith("**FPR 5.0%** (estimate, week of 2026-03-09)")
    assert f"Weeks above the 12% line: {MON.date()}" in summary
    assert "110 legitimate customers blocked" in summary


def test_no_data_yet(tmp_path) -> None:
    counts = {MON: {}, MON + pd.Timedelta(weeks=1): {"approve": 3}}
    report = build_report(pd.DataFrame(), counts, [], as_of=MON.to_pydatetime(), policy_version="s")
    assert not report.has_data and report.latest is None
    summary = summary_markdown(report)
    assert summary.startswith("**No data yet**") and "3 payments logged" in summary
    png = chart_png(report, tmp_path / "c.png")
    page = render_html(report, summary, png)
    assert "<strong>No data yet</strong>" in page and "data:image/png;base64," in page


def test_cells_are_formatted_by_column_not_by_size() -> None:
    assert format_cell("false_decline_usd", 0.4) == "0.40 USD"
    assert format_cell("missed_fraud_usd", 12345.678) == "12,345.68 USD"
    assert format_cell("fpr", 0.4) == "40.00%"
    assert format_cell("fpr_after", 1.0) == "100.00%"
    assert format_cell("legit_blocked", 0.4) == "0"
    assert format_cell("payments", 1234) == "1,234"
    assert format_cell("drift", False) == "no"
    assert format_cell("fpr", None) == "–"
    page = render_html(
        ImpactReport(
            as_of=MON,
            weeks=[{"week": "2026-03-09", "fpr": 0.05, "false_decline_usd": 0.4}],
            releases=[],
            policy_version="p1",
        ),
        "summary",
        b"",
    )
    assert "<td>0.40 USD</td>" in page and "<td>5.00%</td>" in page
