"""`prediction_history`: one closed day of the prediction log exported to the columnar lake."""

import dagster as dg

from fraud_assets.partitions import daily_partitions, day_bounds
from fraud_assets.provenance import provenance
from fraud_assets.resources import FeedbackStoreResource, LakeResource


@dg.asset(
    partitions_def=daily_partitions(),
    deps=["raw_predictions"],
    group_name="ingestion",
    kinds={"sql", "parquet"},
    owners=["team:data"],
    description="The day's predictions as a Parquet partition of the lake (features as float32 "
    "columns): what training and monitoring read, column by column. A day still open on the "
    "platform's clock is refused; a day re-exported replaces its partition.",
)
def prediction_history(
    context: dg.AssetExecutionContext, store: FeedbackStoreResource, lake: LakeResource
) -> dg.MaterializeResult:
    day = context.partition_key
    history = lake.open()
    if day_bounds(day)[1] > history.now():
        raise dg.Failure(f"day {day} is not over at {history.now().isoformat()}: not exported")
    manifest = history.write_day(store.open(), day)
    return dg.MaterializeResult(
        metadata={
            **provenance(context),
            "dagster/row_count": manifest["rows"],
            "max_id": manifest["max_id"],
            "partition": dg.MetadataValue.path(f"{history.url}/predictions/day={day}"),
        }
    )
