"""`business_impact`: the executive report (weekly FPR, customers blocked, money lost, what
each release changed) as HTML with an embedded chart, and a markdown summary."""

from datetime import timedelta

import dagster as dg

from fraud_assets.provenance import provenance
from fraud_assets.resources import Clock, FeedbackStoreResource, LocalFolder, RegistryResource
from fraud_assets.tables import metadata_table


class BusinessImpactConfig(dg.Config):
    weeks: int = 26
    """How many weeks (ending with the current one) the report covers."""


@dg.asset(
    deps=["model_performance", "drift_report", "promoted_model"],
    group_name="reporting",
    kinds={"sql", "pandas", "html"},
    owners=["team:data"],
    description="Executive report for the business and auditors: weekly FPR of the champion "
    "(realized, else estimated) against the 12%/15% lines, legitimate customers blocked, USD "
    "lost to missed fraud and to false declines, and every promotion, rollback and threshold "
    "policy update with the FPR before and after. HTML (chart embedded) under the reports "
    "folder.",
)
def business_impact(
    context: dg.AssetExecutionContext,
    config: BusinessImpactConfig,
    store: FeedbackStoreResource,
    registry: RegistryResource,
    reports: LocalFolder,
    clock: Clock,
) -> dg.MaterializeResult:
    from fraud_core.business_impact import (
        RELEASE_ACTIONS,
        RELEASE_COLUMNS,
        REPORT_METRICS,
        WEEK_COLUMNS,
        build_report,
        format_cell,
        summary_markdown,
        week_start,
    )
    from fraud_core.policy import STATIC_POLICY, ThresholdPolicy
    from fraud_core.registry import CHAMPION
    from fraud_core.reports.business_impact import chart_png, render_html

    now = clock.current()
    feedback = store.open()
    champion = registry.open().aliases().get(CHAMPION)
    first = week_start(now) - timedelta(weeks=config.weeks - 1)
    weeks = [first + timedelta(weeks=i) for i in range(config.weeks)]
    counts = {week: feedback.count_decisions(week, week + timedelta(weeks=1)) for week in weeks}
    history = feedback.metrics_history(
        REPORT_METRICS, since=first, until=now + timedelta(microseconds=1)
    )
    audit = [
        entry
        for action in RELEASE_ACTIONS
        for entry in feedback.audit_entries(action=action, limit=1000)
        if entry["at"] >= first
    ]
    report = build_report(
        history,
        counts,
        audit,
        as_of=now,
        policy_version=(
            ThresholdPolicy.from_store(feedback, champion) if champion else STATIC_POLICY
        ).version,
    )
    summary = summary_markdown(report)
    folder = reports.dir("business")
    stem = f"business-impact-{now:%Y%m%dT%H%M%S}"
    png = chart_png(report, folder / f"{stem}.png")
    page = folder / f"{stem}.html"
    page.write_text(render_html(report, summary, png), encoding="utf-8")
    latest = report.latest or {}
    totals = report.totals
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "weeks": f"{weeks[0].date()} .. {weeks[-1].date()}",
            "has_data": report.has_data,
            "dagster/row_count": sum(1 for w in report.weeks if w["fpr"] is not None),
            "metric_rows": len(history),
            "latest_fpr": latest.get("fpr"),
            "latest_fpr_source": latest.get("fpr_source"),
            "legit_customers_blocked": round(totals["legit_blocked"]),
            "missed_fraud_usd": totals["missed_fraud_usd"],
            "false_decline_usd": totals["false_decline_usd"],
            "policy_version": report.policy_version,
            "releases": len(report.releases),
            "summary": dg.MetadataValue.md(summary),
            "weekly": metadata_table(
                [w for w in report.weeks if w["payments"] or w["fpr"] is not None],
                WEEK_COLUMNS,
                format_cell,
            ),
            "release_changes": metadata_table(report.releases, RELEASE_COLUMNS, format_cell),
            "report_html": dg.MetadataValue.path(str(page)),
            "report_link": dg.MetadataValue.url(page.resolve().as_uri()),
            "chart": dg.MetadataValue.path(str(folder / f"{stem}.png")),
        }
    )
