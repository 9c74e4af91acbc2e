"""Daily ingestion: yesterday's predictions and labels, at 00:30 UTC."""

import dagster as dg

from fraud_assets.partitions import daily

ingestion_job = dg.define_asset_job(
    "ingestion",
    selection=dg.AssetSelection.assets(
        "raw_predictions", "ground_truth_labels", "prediction_history"
    ),
    partitions_def=daily,
    executor_def=dg.in_process_executor,
    description="One day of logged predictions and labels (landing folder + store), and its "
    "partition of the columnar history.",
)

daily_ingestion = dg.build_schedule_from_partitioned_job(
    ingestion_job,
    name="daily_ingestion",
    hour_of_day=0,
    minute_of_hour=30,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
