"""`labeled_predictions`: every prediction of the window with its label state as of now
(fraud, legit, pending, unobservable) and its inverse-propensity weight, frozen as Parquet;
read from the columnar lake and written day by day (memory is that of one day)."""

from datetime import timedelta

import dagster as dg

from fraud_assets.handoffs import HANDOFF_IO_MANAGER, LabeledSnapshot
from fraud_assets.provenance import provenance
from fraud_assets.resources import Clock, FeedbackStoreResource, LakeResource, LocalFolder
from fraud_assets.tables import metadata_table
from fraud_core.settings import get_settings

CONTEXT_COLUMNS = (
    "transaction_id", "event_time", "payment_method", "customer_country", "score", "threshold",
    "decision", "model_version", "variant", "explored", "propensity", "label_source",
)  # fmt: skip


class LabelWindow(dg.Config):
    window_days: int | None = None
    """Unset: the training window (`FRAUD_TRAINING_DAYS`, 90, when the run starts):
    training_dataset needs no more."""


@dg.asset(
    deps=["raw_predictions", "ground_truth_labels"],  # their data: the lake and the store
    io_manager_key=HANDOFF_IO_MANAGER,
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
    lake: LakeResource,
    datasets: LocalFolder,
    clock: Clock,
) -> dg.Output[LabeledSnapshot]:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fraud_core.evaluation import ipw_weights, label_states
    from fraud_core.features import FEATURE_NAMES

    now = clock.current()
    window_days = config.window_days or get_settings().training_days
    path = datasets.dir("labeled") / f"{now:%Y%m%dT%H%M%S}.parquet"
    tmp, writer, counts = path.with_suffix(".tmp"), None, {}
    history, feedback = lake.open(), store.open()
    read = {"columns": CONTEXT_COLUMNS[:-1], "features": True, "as_of": now}

    def write(frame: pd.DataFrame) -> None:
        nonlocal writer
        states = label_states(frame, as_of=now)
        weights = ipw_weights(frame, states)
        labeled = frame[list(CONTEXT_COLUMNS)].assign(
            reported_label=frame["label"], label=states, weight=weights
        )
        labeled = labeled.join(frame[list(FEATURE_NAMES)])
        # one column cast, and rows and weights tallied with numpy: a frame-wide astype and a
        # groupby cost more than a day's other work (about 30 ms each per day on 800 rows)
        labeled["amount_usd"] = labeled["amount_usd"].astype("float64")
        table = pa.Table.from_pandas(labeled, preserve_index=False)
        if writer is None:  # a column that is all null on the first day is text
            schema = pa.schema(
                f.with_type(pa.string()) if pa.types.is_null(f.type) else f for f in table.schema
            )
            writer = pq.ParquetWriter(tmp, schema)
        writer.write_table(table.cast(writer.schema))
        names, index = np.unique(np.asarray(states, dtype=str), return_inverse=True)
        day = zip(names, np.bincount(index), np.bincount(index, weights=weights), strict=True)
        for name, rows, weight in day:
            total = counts.setdefault(str(name), [0, 0.0])
            total[0], total[1] = total[0] + int(rows), total[1] + float(weight)

    for frame in history.frames(feedback, now - timedelta(days=window_days), now, **read):
        write(frame)  # one day at a time: memory stays that of a day
    if writer is None:
        write(history.frame(feedback, now, now, **read))
    writer.close()
    tmp.replace(path)
    counts = pd.DataFrame.from_dict(counts, orient="index", columns=["rows", "weight"]).sort_index()
    rows = int(counts["rows"].sum())
    labeled_rows = int(counts["rows"].reindex(["fraud", "legit"], fill_value=0).sum())
    snapshot = LabeledSnapshot(path=str(path), as_of=now, window_days=window_days, rows=rows)
    return dg.Output(
        snapshot,
        metadata={
            **provenance(context),
            "as_of": now.isoformat(),
            "window_days": window_days,
            "snapshot": dg.MetadataValue.path(str(path)),
            "dagster/row_count": rows,
            "label_states": metadata_table(
                [
                    {"state": s, "rows": int(r.rows), "weighted_rows": float(r.weight)}
                    for s, r in counts.iterrows()
                ]
            ),
            "labeled_share": labeled_rows / rows if rows else 0.0,
        },
    )
