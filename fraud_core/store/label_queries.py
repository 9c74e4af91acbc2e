"""The label count behind the retraining triggers: one aggregate, not every event's row."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from fraud_core.store.models import label_events, to_utc

if TYPE_CHECKING:
    from fraud_core.store import FeedbackStore


def labels_reported(
    store: FeedbackStore, since: datetime | None, now: datetime
) -> tuple[int, datetime | None]:
    """(how many, the latest report time) of the label events reported in (`since`, `now`]."""
    le = label_events.c
    window = le.reported_at <= to_utc(now)
    if since is not None:  # received_at >= reported_at: its index narrows the scan
        window &= (le.received_at >= to_utc(since)) & (le.reported_at > to_utc(since))
    stmt = select(func.count(), func.max(le.reported_at)).where(window)
    with store.engine.connect() as conn:
        count, latest = conn.execute(stmt).one()
    return int(count), latest
