"""`business_impact` against a real store (SQLite and PostgreSQL): an empty store gives a "no
data yet" report; stored figures and audit entries give weekly money and release changes."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fraud_core.business_impact import WEEK_COLUMNS
from tests.fixtures.dagster_platform import Platform, materialize, platform, run_metadata, seed_log

__all__ = ["platform"]  # the fixture, imported for pytest

NOW = datetime(2026, 6, 1, tzinfo=UTC)  # the platform fixture's FRAUD_NOW (a Monday)
PERFORMANCE = {
    "ops": {
        "model_performance": {"config": {"maturity_days": 20, "window_days": 30}},
        "performance_estimate": {"config": {"window_days": 7}},
    }
}


def _embedded_png(page: str) -> bytes:
    (data,) = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    return base64.b64decode(data)


def test_an_empty_store_gives_a_no_data_report(platform: Platform) -> None:
    result = materialize(platform, ["business_impact"])
    assert result.success
    meta = run_metadata(result, "business_impact")
    assert meta["has_data"] is False and meta["dagster/row_count"] == 0
    assert meta["summary"].startswith("**No data yet**")
    assert meta["latest_fpr"] is None and meta["missed_fraud_usd"] == 0.0
    page = Path(meta["report_html"])
    assert page.is_relative_to(platform.folders["reports"]) and page.parent.name == "business"
    text = page.read_text()
    assert "No data yet" in text
    assert _embedded_png(text)[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(meta["chart"]).read_bytes() == _embedded_png(text)


def _metric(name: str, value: float, window_end: datetime, source: str) -> dict:
    return {
        "metric": name,
        "value": value,
        "computed_at": window_end,
        "window_start": window_end - timedelta(days=7),
        "window_end": window_end,
        "model_version": "7",
        "variant": "champion",
        "source": source,
    }


def test_weekly_money_lines_and_release_changes(platform: Platform) -> None:
    store = platform.store
    seed_log(store, days=60, per_day=100)  # 2026-04-02 .. 2026-06-01
    assert materialize(
        platform, ["model_performance", "performance_estimate"], run_config=PERFORMANCE
    ).success
    # a week the champion blocked too many legit customers, measured from matured labels
    bad_week = datetime(2026, 4, 20, tzinfo=UTC)  # Monday
    end = bad_week + timedelta(days=6)
    store.write_metrics(
        [
            _metric("fpr", 0.16, end, "model_performance"),
            _metric("precision", 0.25, end, "model_performance"),
            _metric("expected_cost_false_block", 400.0, end, "model_performance"),
            _metric("expected_cost_missed_fraud", 900.0, end, "model_performance"),
            {**_metric("drift_detected", 1.0, end, "drift_report"), "variant": "champion"},
        ]
    )
    store.append_audit(
        "test",
        "promote",
        "fraud-detector/8",
        "gates passed",
        {"version": "8", "moves": [{"alias": "champion", "from": "7", "to": "8"}]},
    )
    store.append_audit(
        "test", "release.rollback", "fraud-detector/9", "canary FPR 20%", {"version": "9"}
    )
    store.append_audit("test", "alias.set", "fraud-detector/8", "ignored", {})

    result = materialize(platform, ["business_impact"], run_config={
        "ops": {"business_impact": {"config": {"weeks": 12}}}
    })  # fmt: skip
    assert result.success
    meta = run_metadata(result, "business_impact")
    assert meta["has_data"] is True and meta["dagster/row_count"] >= 2

    counts = store.count_decisions(bad_week, bad_week + timedelta(weeks=1))
    payments, blocked = sum(counts.values()), counts.get("block", 0)
    assert payments > 500 and blocked == 0  # the seeded log blocks rarely at this volume
    row = next(w for w in meta["weekly"] if w["week"] == "2026-04-20")
    cells = [row[c] for c in WEEK_COLUMNS]
    assert cells[1:6] == [f"{payments:,}", str(blocked), "16.00%", "realized", "–"]
    # nothing blocked that week: legit customers blocked ~ FPR x payments
    assert cells[6] == f"{0.16 * payments:,.0f}"
    assert cells[7] == f"{900 * payments / 1000:,.2f} USD"
    assert cells[8] == f"{400 * payments / 1000:,.2f} USD"
    assert cells[9] == "yes"
    assert "2026-04-20" in meta["summary"]  # listed among the weeks above the 12% line
    assert meta["missed_fraud_usd"] >= 900 * payments / 1000
    assert meta["legit_customers_blocked"] >= 0.16 * payments - 1

    changes = " ".join(str(row) for row in meta["release_changes"])
    assert meta["releases"] == 2
    assert "champion 7->8" in changes and "canary 9 rolled back and rejected" in changes
    assert "ignored" not in changes
    text = Path(meta["report_html"]).read_text()
    assert "Releases and policy updates" in text and "<strong>" in text
    assert "2026-04-20" in text and "16.00%" in text
    assert len(_embedded_png(text)) > 10_000


def test_weekly_schedule_runs_the_report_job_in_process() -> None:
    import dagster as dg

    from fraud_assets.definitions import defs

    definitions = defs()
    schedule = definitions.resolve_schedule_def("business_report_weekly")
    assert schedule.cron_schedule == "0 6 * * 1" and schedule.job_name == "business_report"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = definitions.resolve_job_def("business_report")
    assert job.executor_def is dg.in_process_executor
    spec = next(
        s for s in definitions.resolve_all_asset_specs() if s.key.path == ["business_impact"]
    )
    assert {d.asset_key.path[0] for d in spec.deps} == {
        "model_performance",
        "drift_report",
        "promoted_model",
    }
