"""`performance_estimate`: the same figures without labels, from calibrated scores."""

from datetime import timedelta

import dagster as dg

from fraud_assets.defs.monitoring.model_performance import figures_table, headline
from fraud_assets.provenance import provenance
from fraud_assets.resources import Clock, FeedbackStoreResource, LakeResource, RegistryResource
from fraud_core.monitoring_rules import ESTIMATE_WINDOW_DAYS

SPW_PARAM = "scale_pos_weight_used"


class EstimateConfig(dg.Config):
    window_days: float = ESTIMATE_WINDOW_DAYS
    min_rows: int = 200


def class_weights(registry, versions) -> dict[str, float]:
    """scale_pos_weight each version was trained with (1.0: scores taken as calibrated)."""
    from fraud_core.registry import UnknownVersion

    weights = {}
    for version in versions:
        try:
            info = registry.get_version(version)
        except UnknownVersion:
            weights[version] = 1.0
            continue
        params = registry.run_params(info.run_id) if info.run_id else {}
        weights[version] = float(params.get(SPW_PARAM, 1.0))
    return weights


@dg.asset(
    deps=["raw_predictions", "model_performance"],
    group_name="monitoring",
    kinds={"sql", "pandas", "parquet"},
    owners=["team:data"],
    description="FPR, recall, precision, decline rate and cost of the last days' decisions "
    "estimated without labels: scores calibrated by undoing each version's scale_pos_weight. "
    "Immediate (realized figures wait ~4 months for labels to mature), but blind to drift "
    "that changes P(fraud | features). Shown beside the latest realized figures.",
)
def performance_estimate(
    context: dg.AssetExecutionContext,
    config: EstimateConfig,
    store: FeedbackStoreResource,
    lake: LakeResource,
    registry: RegistryResource,
    clock: Clock,
) -> dg.MaterializeResult:
    import numpy as np

    from fraud_core.evaluation import undo_class_weight
    from fraud_core.lake import DECISION_COLUMNS
    from fraud_core.monitoring import ALL, FIGURES, estimated_figures, figure_rows

    now = clock.current()
    window = (now - timedelta(days=config.window_days), now)
    feedback = store.open()
    frame = lake.open().frame(feedback, *window, columns=DECISION_COLUMNS)
    versions = frame["model_version"].astype(str).to_numpy()
    weights = class_weights(registry.open(), sorted(set(versions)))
    spw = np.array([weights[v] for v in versions])
    p = undo_class_weight(frame["score"].to_numpy(np.float64), spw) if len(frame) else spw
    figures, support = estimated_figures(frame, p, min_rows=config.min_rows)
    written = feedback.write_metrics(
        figure_rows(
            figures,
            window=window,
            computed_at=now,
            source="performance_estimate",
            suffix="_estimate",
        )
    )
    latest = feedback.latest_metrics()
    realized = {
        (
            r.model_version,
            r.variant,
            r.segment if isinstance(r.segment, str) else ALL,
            r.metric,
        ): r.value
        for r in latest[latest["source"] == "model_performance"].itertuples()
    }
    compared = ("fpr", "recall", "precision")
    beside = {
        key: {
            column: values[m] if column.endswith("_estimate") else realized.get((*key, m))
            for m in compared
            for column in (f"{m}_estimate", m)
        }
        for key, values in figures.items()
    }
    champion = headline(figures, support)
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "window": f"[{window[0].isoformat()}, {window[1].isoformat()})",
            "dagster/row_count": len(frame),
            "scale_pos_weight": weights,
            "metrics_written": written,
            **{f"champion_{k}_estimate": float(v) for k, v in champion.items()},
            "figures": figures_table(figures, support, FIGURES)
            if figures
            else dg.MetadataValue.md(f"_fewer than {config.min_rows} predictions per group_"),
            "estimate_beside_realized": figures_table(
                beside,
                support,
                (
                    "fpr_estimate",
                    "fpr",
                    "recall_estimate",
                    "recall",
                    "precision_estimate",
                    "precision",
                ),
            ),  # fmt: skip
        }
    )
