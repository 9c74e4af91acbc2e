"""Daily partitions of the ingestion assets (UTC days of event or report time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg

from fraud_core.settings import get_settings

daily = dg.DailyPartitionsDefinition(
    start_date=get_settings().history_start.isoformat(), timezone="UTC"
)
"""Built as the assets are declared (`FRAUD_HISTORY_START`): a partitions definition is part of
an asset's definition, so this is the one setting read when the code location imports."""


def day_bounds(partition_key: str) -> tuple[datetime, datetime]:
    """[start, end) of a daily partition, timezone-aware UTC."""
    start = datetime.strptime(partition_key, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)
