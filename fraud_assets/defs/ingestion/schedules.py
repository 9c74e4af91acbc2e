"""Daily ingestion: yesterday's predictions and labels at 00:30 UTC; the online log's upkeep
(partitions ahead, retention) at 01:00."""

import dagster as dg

ingestion_job = dg.define_asset_job(
    "ingestion",
    selection=dg.AssetSelection.assets(
        "raw_predictions", "ground_truth_labels", "prediction_history"
    ),
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

online_log_job = dg.define_asset_job(
    "online_log_upkeep",
    selection=dg.AssetSelection.assets("online_log"),
    executor_def=dg.in_process_executor,
    description="Day partitions of the online prediction log, and its retention.",
)

daily_online_log = dg.ScheduleDefinition(
    name="daily_online_log_upkeep",
    job=online_log_job,
    cron_schedule="0 1 * * *",  # after the 00:30 ingestion exported yesterday
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
