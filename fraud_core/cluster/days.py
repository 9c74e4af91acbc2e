"""The lake's days as pandas frames held by the cluster's workers, one task per day."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fraud_core.lake.lake import clip, read_columns, read_day, to_pandas

if TYPE_CHECKING:
    import dask.dataframe as dd
    import pandas as pd
    import pyarrow as pa
    from dask.distributed import Client, Future

    from fraud_core.lake import Lake
    from fraud_core.store import FeedbackStore


def _day(
    source: str | pa.Table,
    key: str,
    columns: Sequence[str],
    bounds: tuple[datetime, datetime] | None,
    labels: pd.DataFrame | None,
    then: Callable[..., pd.DataFrame] | None,
    then_args: tuple,
) -> pd.DataFrame:
    """On a worker: a day's partition read from the lake at URL `source` (or a table the
    caller read), clipped to `bounds`, with labels, then `then(frame, *then_args)`."""
    table = read_day(source, key, columns) if isinstance(source, str) else source
    if bounds is not None:
        table = clip(table, *bounds)
    frame = to_pandas(table, labels)
    return frame if then is None else then(frame, *then_args)


def day_frames(
    client: Client,
    lake: Lake,
    store: FeedbackStore,
    start: datetime,
    end: datetime,
    *,
    columns: Sequence[str] | None = None,
    features: bool | Sequence[str] = False,
    as_of: datetime | None = None,
    then: Callable[..., pd.DataFrame] | None = None,
    then_args: tuple[Any, ...] = (),
) -> list[Future]:
    """`Lake.frames(...)` (same arguments) on the cluster: one future per day of [start, end),
    oldest first, each a worker's pandas frame, passed through `then(frame, *then_args)` there
    (futures among `then_args` arrive as their values). Closed days are read by the workers from
    the lake's URL; the open day is read here from the store and shipped."""
    from fraud_core.store.export import export_window

    read = read_columns(columns, features)
    labels = store.deciding_labels(start, end, as_of) if as_of is not None else None
    shared = client.scatter(labels, broadcast=True) if labels is not None else None
    futures = []
    for day in lake.partitions(store, start, end):
        source = export_window(store, *day.bounds).select(read) if day.from_store else lake.uri
        bounds = None if day.whole else (start, end)
        futures.append(
            client.submit(_day, source, day.key, read, bounds, shared, then, then_args, pure=False)
        )
    return futures


def as_dataframe(client: Client, futures: list[Future]) -> dd.DataFrame:
    """The futures' frames as one Dask DataFrame, one partition each, in order."""
    import dask.dataframe as dd

    meta = client.submit(lambda frame: frame.iloc[:0], futures[0], pure=False).result()
    return dd.from_delayed(futures, meta=meta, verify_meta=False)
