"""`labeled_predictions`: every prediction of the window with its label state as of now
(fraud, legit, pending, unobservable) and its inverse-propensity weight, frozen as Parquet."""

import dagster as dg

from fraud_assets.provenance import provenance
from fraud_assets.resources import Clock, FeedbackStoreResource, LocalFolder
from fraud_assets.tables import markdown_table
from fraud_core.settings import env_number

CONTEXT_COLUMNS = (
    "transaction_id", "event_time", "payment_method", "customer_country", "score", "threshold",
    "decision", "model_version", "variant", "explored", "propensity", "label_source",
)  # fmt: skip


class LabelWindow(dg.Config):
    window_days: int = int(env_number("FRAUD_TRAINING_DAYS", 90, 1))
    """The training window (`FRAUD_TRAINING_DAYS`, 90): training_dataset needs no more."""


@dg.asset(
    deps=["raw_predictions", "ground_truth_labels"],
    group_name="ingestion",
    kinds={"sql", "pandas", "parquet"},
    owners=["team:data"],
    description="Predictions of the last `window_days` days joined with the labels known as of "
    "now: label state (fraud, legit, pending, unobservable; 120-day maturity) and "
    "inverse-propensity weight per prediction.",
)
def labeled_predictions(
    context: dg.AssetExecutionContext,
    config: LabelWindow,
    store: FeedbackStoreResource,
    datasets: LocalFolder,
    clock: Clock,
) -> dg.MaterializeResult:
    from fraud_core.evaluation import ipw_weights, label_states
    from fraud_core.features import FEATURE_NAMES
    from fraud_core.store import features_frame

    now = clock.current()
    frame = store.open().training_data(days=config.window_days, end=now, as_of=now)
    states = label_states(frame, as_of=now)
    labeled = frame[list(CONTEXT_COLUMNS)].assign(
        reported_label=frame["label"], label=states, weight=ipw_weights(frame, states)
    )
    labeled = labeled.join(features_frame(frame, FEATURE_NAMES))  # includes amount_usd
    path = datasets.dir("labeled") / f"{now:%Y%m%dT%H%M%S}.parquet"
    labeled.to_parquet(path, index=False)
    counts = labeled.groupby("label").agg(rows=("label", "size"), weight=("weight", "sum"))
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "window_days": config.window_days,
            "snapshot": dg.MetadataValue.path(str(path)),
            "dagster/row_count": len(labeled),
            "label_states": markdown_table(
                [
                    {"state": s, "rows": int(r.rows), "weighted_rows": float(r.weight)}
                    for s, r in counts.iterrows()
                ]
            ),
            "labeled_share": float(labeled["label"].isin(["fraud", "legit"]).mean())
            if len(labeled)
            else 0.0,
        }
    )
