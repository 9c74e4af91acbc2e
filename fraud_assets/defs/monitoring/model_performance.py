"""`model_performance`: realized FPR, recall, precision, decline rate and cost from labels."""

from datetime import timedelta

import dagster as dg

from fraud_assets.provenance import provenance
from fraud_assets.resources import Clock, FeedbackStoreResource, LakeResource
from fraud_assets.tables import metadata_table
from fraud_core.monitoring_rules import REALIZED_WINDOW_DAYS


class PerformanceConfig(dg.Config):
    window_days: int = REALIZED_WINDOW_DAYS
    maturity_days: float | None = None
    """Approved payments older than this with no report count as legitimate (default:
    `fraud_core.maturity`'s 120 days, the longest chargeback delay)."""
    min_rows: int = 200
    """Groups resting on fewer labelled rows are not reported."""


def figures_table(figures: dict, support: dict, columns: tuple[str, ...]) -> dg.MetadataValue:
    rows = [
        {"model_version": v, "variant": var, "segment": seg, "rows": support[(v, var, seg)]}
        | {c: values.get(c) for c in columns}
        for (v, var, seg), values in figures.items()
    ]
    return metadata_table(rows, ["model_version", "variant", "segment", "rows", *columns])


def headline(figures: dict, support: dict) -> dict:
    """Figures of the champion over all traffic (the version with the most rows)."""
    keys = [k for k in figures if k[1] == "champion" and k[2] == "all"]
    return figures[max(keys, key=support.get)] if keys else {}


@dg.asset(
    deps=["raw_predictions", "ground_truth_labels"],
    group_name="monitoring",
    kinds={"sql", "pandas", "parquet"},
    owners=["team:data"],
    description="Realized performance of the logged decisions over the latest window whose "
    "labels have matured, per model version, variant and segment (payment method, country "
    "group, amount band): inverse-propensity weighted. Rows in monitoring_metrics.",
)
def model_performance(
    context: dg.AssetExecutionContext,
    config: PerformanceConfig,
    store: FeedbackStoreResource,
    lake: LakeResource,
    clock: Clock,
) -> dg.MaterializeResult:
    import pandas as pd

    from fraud_core.evaluation import label_states
    from fraud_core.lake import DECISION_COLUMNS
    from fraud_core.maturity import MATURITY_DAYS
    from fraud_core.monitoring import FIGURES, figure_rows, realized_figures

    now = clock.current()
    maturity = config.maturity_days or MATURITY_DAYS
    end = now - timedelta(days=maturity)
    feedback = store.open()
    window = (end - timedelta(days=config.window_days), end)
    frame = lake.open().frame(feedback, *window, columns=DECISION_COLUMNS, as_of=now)
    known = frame[frame["label"].notna()]
    labels = pd.DataFrame(
        {
            "transaction_id": known["transaction_id"],
            "label": known["label"],
            "reported_at": known["label_reported_at"],
        }
    )
    states = label_states(frame, labels, as_of=now, maturity_days=maturity)
    figures, support = realized_figures(frame, states, min_rows=config.min_rows)
    written = feedback.write_metrics(
        figure_rows(figures, window=window, computed_at=now, source="model_performance")
    )
    champion = headline(figures, support)
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "window": f"[{window[0].isoformat()}, {window[1].isoformat()})",
            "dagster/row_count": len(frame),
            "label_states": {s: int((states == s).sum()) for s in sorted(set(states))},
            "metrics_written": written,
            **{f"champion_{k}": float(v) for k, v in champion.items()},
            "figures": figures_table(figures, support, FIGURES)
            if figures
            else dg.MetadataValue.md(
                f"_no group has {config.min_rows} matured labelled rows in the window yet_"
            ),
        }
    )
