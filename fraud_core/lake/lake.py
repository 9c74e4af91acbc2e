"""Lake: write and read the per-day partitions `<root>/predictions/day=YYYY-MM-DD/`.

A partition holds one closed UTC day (its end <= the platform's now: `now`, by default
`fraud_core.clock`, which follows FRAUD_NOW) and a `_manifest.json` with the store's row
count, largest id and largest transaction id for that day when it was exported. A day whose
store rows changed since (late spooled rows, another store) is exported again before it is
read; a day the store no longer holds (retention) is read from the lake as it is. The open
day is read from the store. `root` is a local folder or any URL pyarrow's filesystems take
(s3://...).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from fraud_core import clock
from fraud_core.features import FEATURE_NAMES
from fraud_core.lake.schema import FEATURE_PREFIX, PREDICTION_COLUMNS
from fraud_core.store.export import export_window
from fraud_core.store.models import to_utc

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from fraud_core.store import FeedbackStore

TABLE = "predictions"
LABEL_COLUMNS = ("label", "label_source", "label_reported_at")


class Day(NamedTuple):
    """A day to read: its key, whether it comes from the store (the open day) rather than its
    partition, and whether the window covers it whole (no clipping needed)."""

    key: str
    from_store: bool
    whole: bool

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return _bounds(self.key)


def day_keys(start: datetime, end: datetime) -> list[str]:
    """UTC days ('YYYY-MM-DD') that [start, end) touches."""
    day = to_utc(start).replace(hour=0, minute=0, second=0, microsecond=0)
    keys = []
    while day < to_utc(end):
        keys.append(f"{day:%Y-%m-%d}")
        day += timedelta(days=1)
    return keys


def _bounds(key: str) -> tuple[datetime, datetime]:
    start = datetime.strptime(key, "%Y-%m-%d").replace(tzinfo=UTC)
    return start, start + timedelta(days=1)


def _current(manifest: dict | None, stored: tuple[int, int, str]) -> bool:
    """Whether a partition's manifest matches the store's (rows, max id, max transaction id);
    a manifest without the transaction id (an earlier lake) is matched on the first two."""
    if manifest is None:
        return False
    mine = (manifest["rows"], manifest["max_id"], manifest.get("max_transaction_id"))
    return mine == stored if mine[2] is not None else mine[:2] == stored[:2]


class Lake:
    """The columnar history under `root` (see the module docstring)."""

    def __init__(self, root: str, now: Callable[[], datetime] = clock.now) -> None:
        from pyarrow import fs

        self.now = now
        self.url = str(root)
        self.uri = self._uri(self.url)
        self.fs, self.root = fs.FileSystem.from_uri(self.uri)

    @staticmethod
    def _uri(url: str) -> str:
        from pathlib import Path

        return url if "://" in url else Path(url).resolve().as_uri()

    def _dir(self, key: str) -> str:
        return f"{self.root}/{TABLE}/day={key}"

    def manifest(self, key: str) -> dict | None:
        """The manifest of day `key`, None when the day is not exported."""
        from pyarrow import fs

        path = f"{self._dir(key)}/_manifest.json"
        if self.fs.get_file_info(path).type == fs.FileType.NotFound:
            return None
        with self.fs.open_input_stream(path) as stream:
            return json.loads(stream.read())

    def write_day(self, store: FeedbackStore, key: str) -> dict:
        """Export day `key` from the store (replacing what the lake held); its manifest."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = export_window(store, *_bounds(key))
        folder = self._dir(key)
        self.fs.create_dir(folder, recursive=True)
        tmp = f"{folder}/.part-{uuid.uuid4().hex}.parquet"
        pq.write_table(table, tmp, filesystem=self.fs, compression="zstd")
        self.fs.move(tmp, f"{folder}/part.parquet")
        manifest = {
            "day": key,
            "rows": table.num_rows,
            "max_id": pc.max(table["id"]).as_py(),
            "max_transaction_id": pc.max(table["transaction_id"]).as_py(),
            "exported_at": self.now().isoformat(),
        }
        with self.fs.open_output_stream(f"{folder}/_manifest.json") as stream:
            stream.write(json.dumps(manifest).encode())
        return manifest

    def sync(self, store: FeedbackStore, start: datetime, end: datetime) -> list[str]:
        """Export the closed days of [start, end) that the lake lacks or holds stale; their keys."""
        now, keys = self.now(), day_keys(start, end)
        if not keys:
            return []
        # whole days: a window cut mid-day would count part of its first or last day, which
        # never matches that day's manifest (and exported it again on every read)
        counts = store.day_counts(_bounds(keys[0])[0], _bounds(keys[-1])[1])
        written = []
        for key in keys:
            if _bounds(key)[1] > now or key not in counts:
                continue
            if not _current(self.manifest(key), counts[key]):
                self.write_day(store, key)
                written.append(key)
        return written

    def partitions(self, store: FeedbackStore, start: datetime, end: datetime) -> list[Day]:
        """The days of [start, end) to read, oldest first, closed days synced first: a closed
        day from its partition, the open day from the store."""
        start, end = to_utc(start), to_utc(end)
        self.sync(store, start, end)
        now, days = self.now(), []
        for key in day_keys(start, end):
            day_start, day_end = _bounds(key)
            if day_end > now:
                days.append(Day(key, from_store=True, whole=False))
            elif self.manifest(key) is not None:
                days.append(Day(key, from_store=False, whole=start <= day_start and day_end <= end))
        return days

    def tables(
        self, store: FeedbackStore, start: datetime, end: datetime, columns: Sequence[str]
    ) -> Iterator[pa.Table]:
        """Day by day, the `columns` (lake names) of predictions in [start, end), in (event_time,
        id) order: closed days from their partition (synced first), the open day from the store."""
        start, end = to_utc(start), to_utc(end)
        for day in self.partitions(store, start, end):
            if day.from_store:
                table = export_window(store, *day.bounds).select(list(columns))
            else:
                table = read_day(self.uri, day.key, columns)
            if not day.whole:
                table = clip(table, start, end)
            if table.num_rows:
                yield table

    def frames(
        self,
        store: FeedbackStore,
        start: datetime,
        end: datetime,
        *,
        columns: Sequence[str] | None = None,
        features: bool | Sequence[str] = False,
        as_of: datetime | None = None,
    ) -> Iterator[pd.DataFrame]:
        """Day by day, predictions in [start, end) as `FeedbackStore.training_data` /
        `predictions_between` frame them, but column-pruned: `columns` of the log (default: all
        but those named like a feature read; `id` and `event_time` always); `features` (True:
        FEATURE_NAMES, or a list of names) one float32 column each; with `as_of`, the label
        columns of `training_data` as of that instant."""
        read = read_columns(columns, features)
        labels = store.deciding_labels(start, end, as_of) if as_of is not None else None
        for table in self.tables(store, start, end, read):
            yield to_pandas(table, labels)

    def frame(
        self,
        store: FeedbackStore,
        start: datetime,
        end: datetime,
        *,
        columns: Sequence[str] | None = None,
        features: bool | Sequence[str] = False,
        as_of: datetime | None = None,
    ) -> pd.DataFrame:
        """`frames(...)` as one DataFrame."""
        import pyarrow as pa

        from fraud_core.lake.schema import lake_schema

        read = read_columns(columns, features)
        labels = store.deciding_labels(start, end, as_of) if as_of is not None else None
        tables = list(self.tables(store, start, end, read))
        table = pa.concat_tables(tables) if tables else lake_schema().empty_table().select(read)
        return to_pandas(table, labels)


def read_day(uri: str, key: str, columns: Sequence[str]) -> pa.Table:
    """The `columns` of day `key`'s partition in the lake at `uri` (a URL: cluster workers call
    this with nothing but the URL)."""
    import pyarrow.parquet as pq
    from pyarrow import fs

    filesystem, root = fs.FileSystem.from_uri(uri)
    path = f"{root}/{TABLE}/day={key}/part.parquet"
    return pq.read_table(path, columns=list(columns), filesystem=filesystem)


def clip(table: pa.Table, start: datetime, end: datetime) -> pa.Table:
    """The rows of a day's table with start <= event_time < end."""
    import pyarrow.compute as pc

    times = table["event_time"]
    return table.filter(pc.and_(pc.greater_equal(times, start), pc.less(times, end)))


def read_columns(columns: Sequence[str] | None, features: bool | Sequence[str]) -> list[str]:
    """Lake columns to read (see `Lake.frames`); ValueError names an unknown or clashing one."""
    names = list(FEATURE_NAMES if features is True else features or [])
    if columns is None:
        columns = [c for c in PREDICTION_COLUMNS if c not in names]
    wanted = list(dict.fromkeys(["id", "event_time", *columns]))
    unknown = [c for c in wanted if c not in PREDICTION_COLUMNS]
    unknown += [n for n in names if n not in FEATURE_NAMES]
    if unknown:
        raise ValueError(f"unknown predictions column(s) or feature(s): {', '.join(unknown)}")
    clash = [c for c in wanted if c in names]
    if clash:
        raise ValueError(f"column(s) {', '.join(clash)} clash with the features of that name")
    return wanted + [FEATURE_PREFIX + n for n in names]


def to_pandas(table: pa.Table, labels: pd.DataFrame | None) -> pd.DataFrame:
    """A lake table as pandas (datetime64[ns, UTC], features by their names), with labels."""
    import pandas as pd

    frame = table.to_pandas(coerce_temporal_nanoseconds=True)
    frame.columns = [c.removeprefix(FEATURE_PREFIX) for c in frame.columns]
    if labels is None:
        return frame
    where = pd.Index(labels["id"]).get_indexer(frame["id"])
    found = where >= 0
    for name in LABEL_COLUMNS:
        column = labels[name].iloc[where[found]]
        frame[name] = pd.Series(column.to_numpy(), index=frame.index[found]).reindex(frame.index)
        if name != "label_reported_at":
            frame[name] = frame[name].astype(object).where(found, None)
    return frame
