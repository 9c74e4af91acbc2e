"""Retention of the online log: drop each day older than the retention whose lake copy matches.

A day is dropped only when the lake's manifest of that day equals what the store holds (row
count, largest id, largest transaction id): a day not exported, exported before its last rows
arrived, or whose manifest lacks a field, stays. `FeedbackStore.retire_day` checks again and
drops under a lock, with an audit entry, in one transaction.

A retired day's prediction keys (`prediction_ids`) stay so that late labels still find their
transaction; `retire_unlabelled_keys` drops those older than the key retention that no label
event names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fraud_core.store.models import to_utc

if TYPE_CHECKING:
    from fraud_core.store import FeedbackStore

ACTOR = "online-log-retention"


@dataclass
class RetentionResult:
    """Days dropped (with how), and days kept past the retention (with why)."""

    dropped: dict[str, str] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=dict)


def retire_exported_days(
    store: FeedbackStore,
    manifest: Callable[[str], dict | None],
    keep_days: int,
    now: datetime,
) -> RetentionResult:
    """Drop the days that end at least `keep_days` before `now`'s day and whose `manifest`
    (`Lake.manifest`) matches the store."""
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, got {keep_days}")
    today = to_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    cutoff = today - timedelta(days=keep_days)
    result = RetentionResult()
    oldest = store.oldest_prediction_time()
    if oldest is None or oldest >= cutoff:
        return result
    for key, held in sorted(store.day_counts(oldest, cutoff).items()):
        copy = manifest(key)
        if copy is None:
            result.kept[key] = "not in the lake"
            continue
        exported = (copy.get("rows"), copy.get("max_id"), copy.get("max_transaction_id"))
        if exported != held:
            result.kept[key] = f"lake manifest {exported} differs from the store's {held}"
            continue
        reason = f"older than {keep_days} days and exported to the lake"
        how = store.retire_day(datetime.strptime(key, "%Y-%m-%d").date(), held, ACTOR, reason)
        if how is None:
            result.kept[key] = "changed while being retired"
        else:
            result.dropped[key] = how
    return result


def retire_unlabelled_keys(store: FeedbackStore, keep_days: int, now: datetime) -> int:
    """Drop the keys of retired predictions older than `keep_days` before `now`'s day that no
    label event names; how many."""
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, got {keep_days}")
    today = to_utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    reason = f"retired from the online log, older than {keep_days} days and never labelled"
    return store.retire_keys(today - timedelta(days=keep_days), ACTOR, reason)
