"""Daily partitions of the ingestion assets (UTC days of event or report time)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import dagster as dg

HISTORY_START_ENV = "FRAUD_HISTORY_START"

daily = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(HISTORY_START_ENV, "2025-01-01"), timezone="UTC"
)


def day_bounds(partition_key: str) -> tuple[datetime, datetime]:
    """[start, end) of a daily partition, timezone-aware UTC."""
    start = datetime.strptime(partition_key, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)
