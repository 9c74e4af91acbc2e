"""`raw_predictions`: one day of logged predictions, summarised and checked for data quality."""

from typing import TYPE_CHECKING

import dagster as dg

from fraud_assets.partitions import daily_partitions, day_bounds
from fraud_assets.provenance import provenance
from fraud_assets.resources import FeedbackStoreResource
from fraud_assets.tables import metadata_table

if TYPE_CHECKING:
    import pandas as pd


def quality_problems(frame: "pd.DataFrame", start, end) -> list[dict]:
    """One row per data-quality rule: how many predictions break it."""
    from fraud_core.features import FEATURE_NAMES, FEATURE_SPEC

    expected = set(FEATURE_NAMES)
    rules = {
        "score outside [0, 1]": ~frame["score"].between(0, 1),
        "propensity outside (0, 1]": ~((frame["propensity"] > 0) & (frame["propensity"] <= 1)),
        "features missing or incomplete": ~frame["features"].map(
            lambda f: isinstance(f, dict) and expected <= f.keys()
        ),
        "feature spec differs from the pipeline": frame["feature_version"] != FEATURE_SPEC.version,
        "event time outside the day": ~frame["event_time"].between(start, end, inclusive="left"),
        "duplicate transaction id": frame["transaction_id"].duplicated(),
    }
    return [{"rule": rule, "failing_rows": int(mask.sum())} for rule, mask in rules.items()]


@dg.asset(
    partitions_def=daily_partitions(),
    group_name="ingestion",
    kinds={"sql", "pandas"},
    owners=["team:data"],
    check_specs=[dg.AssetCheckSpec("data_quality", asset="raw_predictions")],
    description="The day's logged predictions: volume, decision mix, scores, model versions.",
)
def raw_predictions(
    context: dg.AssetExecutionContext, store: FeedbackStoreResource
) -> dg.MaterializeResult:
    start, end = day_bounds(context.partition_key)
    frame = store.open().predictions_between(start, end)
    problems = quality_problems(frame, start, end) if len(frame) else []
    failing = {p["rule"]: p["failing_rows"] for p in problems if p["failing_rows"]}
    metadata = {
        **provenance(context),
        "window": f"[{start.isoformat()}, {end.isoformat()})",
        "dagster/row_count": len(frame),
        "data_quality": metadata_table(problems),
    }
    if len(frame):
        quantiles = frame["score"].quantile([0.5, 0.9, 0.99]).tolist()
        mix = frame.groupby(["model_version", "variant", "decision"]).size()
        metadata |= {
            "decline_rate": float((frame["decision"] == "block").mean()),
            "explored_share": float(frame["explored"].mean()),
            "score_p50": quantiles[0],
            "score_p90": quantiles[1],
            "score_p99": quantiles[2],
            "model_versions": sorted(frame["model_version"].astype(str).unique().tolist()),
            "decision_mix": metadata_table(
                [
                    {"model_version": v, "variant": var, "decision": d, "predictions": int(n)}
                    for (v, var, d), n in mix.items()
                ]
            ),
        }
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="data_quality",
                passed=not failing,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"failing_rules": failing or "none", "rows": len(frame)},
            )
        ],
    )
