"""Prediction keys: each prediction's id is drawn first and its `prediction_ids` row (the
transaction id's unique key) written before the prediction itself, in the same transaction.

A partitioned `predictions` cannot hold a unique key on `transaction_id` alone (every unique
key of a partitioned table includes the partition column), and a day dropped by retention
would forget its ids: the key table keeps them, for uniqueness, for the label events' foreign
key and for `/feedback`'s "unknown transaction" check.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, func, select, union_all

from fraud_core.store import bulk
from fraud_core.store.models import prediction_ids, predictions
from fraud_core.store.rows import Columns

_CHUNK = 1000


def draw_ids(conn: Connection, n: int) -> list[int]:
    """`n` new prediction ids (PostgreSQL: from the id sequence; SQLite, whose writers are
    serialized: after the largest id used)."""
    if conn.dialect.name == "postgresql":
        drawn = (
            "SELECT nextval(pg_get_serial_sequence('predictions', 'id')) AS id "
            f"FROM generate_series(1, {int(n)})"
        )
        low, high = conn.exec_driver_sql(f"SELECT min(id), max(id) FROM ({drawn}) ids").one()
        if n and high - low + 1 == n:  # n distinct ids in a range of n: that whole range
            return list(range(low, high + 1))
        # Interleaved with another writer's draws: ours are scattered, read them one by one
        # (those read above are lost: ids need not be dense).
        return list(conn.exec_driver_sql(drawn).scalars())
    largest = select(func.max(predictions.c.id).label("top"))
    keyed = select(func.max(prediction_ids.c.prediction_id).label("top"))
    tops = union_all(largest, keyed).subquery()
    top = conn.execute(select(func.max(tops.c.top))).scalar_one() or 0
    return list(range(top + 1, top + 1 + n))


def insert_keys(conn: Connection, columns: Columns, skip_known: bool) -> tuple[Columns, list[int]]:
    """Draw ids for validated prediction `columns` and store their keys: the columns (with
    `id`) of the rows whose key this call wrote, and their positions in the batch. With
    `skip_known`, a transaction id already stored, or repeated in the batch, is skipped;
    without it, it fails the transaction."""
    ids = draw_ids(conn, len(columns["transaction_id"]))
    keys = {
        "transaction_id": columns["transaction_id"],
        "prediction_id": ids,
        "event_time": columns["event_time"],
    }
    written = bulk.insert(conn, prediction_ids, keys, ("transaction_id",) if skip_known else None)
    columns = {**columns, "id": ids}
    if written == len(ids):
        return columns, list(range(len(ids)))
    owner = _owners(conn, columns["transaction_id"])
    tids = keys["transaction_id"]
    keep = [i for i, (tid, pid) in enumerate(zip(tids, ids, strict=True)) if owner[tid] == pid]
    return {name: [values[i] for i in keep] for name, values in columns.items()}, keep


def _owners(conn: Connection, transaction_ids: Sequence[str]) -> dict[str, int]:
    """The prediction id that owns each of `transaction_ids`."""
    k = prediction_ids.c
    unique = sorted(set(transaction_ids))
    owner: dict[str, int] = {}
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        rows = conn.execute(
            select(k.transaction_id, k.prediction_id).where(k.transaction_id.in_(chunk))
        )
        owner.update((tid, pid) for tid, pid in rows)
    return owner
