"""Daily partitions of the ingestion assets (UTC days of event or report time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import dagster as dg

from fraud_core.settings import get_settings


def daily_partitions() -> dg.DailyPartitionsDefinition:
    """Days from `FRAUD_HISTORY_START`, read as the `defs/` modules declare their assets (when
    the code location loads: a partitions definition is part of an asset's definition)."""
    return _daily(get_settings().history_start.isoformat())


@cache
def _daily(start: str) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start, timezone="UTC")


def day_bounds(partition_key: str) -> tuple[datetime, datetime]:
    """[start, end) of a daily partition, timezone-aware UTC."""
    start = datetime.strptime(partition_key, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)
