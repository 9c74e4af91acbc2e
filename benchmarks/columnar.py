"""Per-row costs of the columnar history against today's path, measured in the same run on
PostgreSQL: bytes stored, µs to write, µs and bytes of memory to read into a training matrix.

    uv run python benchmarks/columnar.py [--days 4] [--tx-per-day 20000] \
        [--db-url postgresql://root@127.0.0.1:5432/test]

The same simulated days go into two fresh schemas: today's path (`insert_predictions` of row
dicts, JSONB features) and the new one (`insert_prediction_matrix`, then each closed day
exported to a Parquet partition of the lake). Reads: `training_data` + `features_frame` (today)
against `Lake.frame(features=True, as_of=...)` (columnar), both to a float32 matrix. Memory is
the growth of the process's peak resident memory (VmHWM, reset before each read).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def measured(work):
    """(result, seconds, peak memory growth in bytes) of `work()`."""
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    before = rss_kb("VmRSS")
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    return result, seconds, (rss_kb("VmHWM") - before) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--tx-per-day", type=int, default=20_000)
    parser.add_argument("--db-url", default="postgresql://root@127.0.0.1:5432/test")
    args = parser.parse_args()

    import numpy as np
    from scale import drop_schema, schema_url  # this folder's scale.py
    from sqlalchemy import text

    from fraud_core.commands.history_options import scorer, world_config
    from fraud_core.commands.seed import simulated_days
    from fraud_core.features import FEATURE_NAMES
    from fraud_core.lake import Lake
    from fraud_core.store import FeedbackStore, features_frame

    folder = Path(tempfile.mkdtemp(prefix="bench-columnar-"))
    names = (f"bench_columnar_{os.getpid()}_old", f"bench_columnar_{os.getpid()}_new")
    rows = args.days * args.tx_per_day
    print(f"{args.days} days x {args.tx_per_day:,} payments = {rows:,} predictions on PostgreSQL; "
          f"load average {os.getloadavg()}")  # fmt: skip
    try:
        old, new = (FeedbackStore(schema_url(args.db_url, name)) for name in names)
        config = world_config(args.days, args.tx_per_day, None, None, 0.003)
        options = {"threshold": 0.5, "exploration": 0.05, "max_explore_usd": 500.0}
        write_old = write_new = 0.0
        for day in simulated_days(config, 0, scorer(None), options, "bench-key"):
            started = time.perf_counter()  # today's path: one features dict per row, then insert
            values = [dict(zip(FEATURE_NAMES, r, strict=True)) for r in day.features.tolist()]
            old.insert_predictions(day.rows.assign(features=values))
            write_old += time.perf_counter() - started
            started = time.perf_counter()
            new.insert_prediction_matrix(day.rows, day.features, FEATURE_NAMES)
            write_new += time.perf_counter() - started
        with new.engine.connect() as conn:
            first, last = conn.execute(
                text("SELECT min(event_time), max(event_time) FROM predictions")
            ).one()
        start = first.replace(hour=0, minute=0, second=0, microsecond=0)
        end = last.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        lake = Lake(str(folder / "lake"), now=lambda: end)
        _, export, _ = measured(lambda: lake.sync(new, start, end))
        lake_bytes = sum(p.stat().st_size for p in (folder / "lake").rglob("*.parquet"))
        with new.engine.connect() as conn:
            table_bytes, feature_bytes = conn.execute(
                text(
                    "SELECT pg_total_relation_size('predictions'), "
                    "avg(pg_column_size(features)) FROM predictions"
                )
            ).one()

        def read_old():
            frame = old.training_data(days=(end - start).days, end=end, as_of=end)
            return features_frame(frame, FEATURE_NAMES).to_numpy(np.float32)

        def read_new():
            frame = lake.frame(new, start, end, features=True, as_of=end)
            return frame[list(FEATURE_NAMES)].to_numpy(np.float32)

        matrix_old, seconds_old, memory_old = measured(read_old)
        del matrix_old
        matrix_new, seconds_new, memory_new = measured(read_new)
        n = len(matrix_new)
        per = 1e6 / n
        print(f"{'per row':<46} {'today':>10} {'columnar':>10}  ratio")
        lines = [
            ("bytes stored (PG table+indexes | Parquet)", table_bytes / n, lake_bytes / n),
            ("  of which features (JSONB | float32 zstd)", float(feature_bytes), None),
            ("µs to write (build dicts+insert | matrix)", write_old * per, write_new * per),
            ("µs to export a closed day to the lake", None, export * per),
            ("µs to read into a training matrix", seconds_old * per, seconds_new * per),
            ("bytes of memory to read (peak growth)", memory_old / n, memory_new / n),
        ]
        for label, before, after in lines:
            shown = [f"{v:10.1f}" if v is not None else f"{'-':>10}" for v in (before, after)]
            ratio = f"{before / after:5.1f}x" if before and after else ""
            print(f"{label:<46} {shown[0]} {shown[1]}  {ratio}")
        print(f"rows read: {n:,}; load average {os.getloadavg()}")
        old.close()
        new.close()
    finally:
        for name in names:
            drop_schema(args.db_url, name)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
