"""Day partitions of the online log `predictions` on PostgreSQL, and dropping a day on both.

PostgreSQL: `predictions` is range-partitioned on `event_time`, one partition per UTC day
(`predictions_pYYYYMMDD`) and a default partition (`predictions_default`) that takes any row
whose day has no partition yet, so no insert is ever refused. Creating a day's partition moves
the default partition's rows of that day into it (one transaction). Dropping a day detaches
and drops its partition and deletes the default partition's rows of that day.
SQLite: one unpartitioned table; dropping a day deletes its rows in batches.
Every function runs inside the caller's transaction: a run killed half-way changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, delete, select

from fraud_core.store.locks import advisory_key_sql
from fraud_core.store.models import predictions

PARENT = "predictions"
DEFAULT = "predictions_default"
_NAME = re.compile(r"^predictions_p(\d{8})$")
_DELETE_BATCH = 10_000  # SQLite rows per DELETE statement


def partition_name(day: date) -> str:
    return f"predictions_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of the UTC day `day`."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    return start, start + timedelta(days=1)


def existing_days(conn: Connection) -> set[date]:
    """Days that have their own partition of `predictions`."""
    names = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = '{PARENT}'::regclass"
    ).scalars()
    found = (_NAME.match(name) for name in names)
    return {datetime.strptime(m.group(1), "%Y%m%d").date() for m in found if m}


def ensure_days(conn: Connection, days: Iterable[date]) -> list[date]:
    """Create the missing partitions of `days` (PostgreSQL; serialized across processes);
    the days created."""
    wanted = set(days)
    if not wanted:
        return []
    conn.exec_driver_sql(
        f"SELECT pg_advisory_xact_lock({advisory_key_sql('fraud-predictions-partitions')})"
    )
    missing = sorted(wanted - existing_days(conn))
    for day in missing:
        _create(conn, day)
    return missing


def _create(conn: Connection, day: date) -> None:
    name = partition_name(day)
    start, end = (f"'{t.isoformat()}'" for t in day_bounds(day))
    bounds = f"FOR VALUES FROM ({start}) TO ({end})"
    in_day = f"event_time >= {start} AND event_time < {end}"
    held = conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE {in_day})")
    if not held.scalar_one():
        conn.exec_driver_sql(f"CREATE TABLE {name} PARTITION OF {PARENT} {bounds}")
        return
    conn.exec_driver_sql(
        f"CREATE TABLE {name} (LIKE {PARENT} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT} WHERE {in_day} RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved"
    )
    conn.exec_driver_sql(f"ALTER TABLE {PARENT} ATTACH PARTITION {name} {bounds}")


def drop_day(conn: Connection, day: date) -> tuple[int, str]:
    """Remove every prediction of `day`; (rows removed, how). The caller holds the lock that
    keeps the day from changing (see `FeedbackStore.retire_day`)."""
    start, end = day_bounds(day)
    p = predictions.c
    in_day = (p.event_time >= start) & (p.event_time < end)
    if conn.dialect.name != "postgresql":
        removed = 0
        while True:
            batch = select(p.id).where(in_day).limit(_DELETE_BATCH).scalar_subquery()
            rows = conn.execute(delete(predictions).where(p.id.in_(batch))).rowcount
            removed += rows
            if rows < _DELETE_BATCH:
                return removed, f"deleted in batches of {_DELETE_BATCH:,}"
    removed, how = 0, []
    if day in existing_days(conn):
        name = partition_name(day)
        removed = conn.exec_driver_sql(f"SELECT count(*) FROM {name}").scalar_one()
        conn.exec_driver_sql(f"ALTER TABLE {PARENT} DETACH PARTITION {name}")
        conn.exec_driver_sql(f"DROP TABLE {name}")
        how.append(f"partition {name} detached and dropped")
    stray = conn.execute(delete(predictions).where(in_day)).rowcount  # the default's rows
    if stray or not how:
        how.append(f"{stray} row(s) deleted from {DEFAULT}")
    return removed + stray, "; ".join(how)
