"""`fraudops seed`'s throughput on PostgreSQL: serial against pipelined, in one run.

The same simulated days (one world, one seed) are loaded into two fresh schemas by
`fraud_core.commands.seed.load_days`, first serially (simulate, then store, day after day),
then pipelined (a day stored on a second thread while the next is simulated). The serial run
prints where a row's time goes: simulating and scoring, the keyed bulk insert (ids, keys,
feature JSON, CSV, COPY), the label events; and the CPU a row costs in this process and in
the PostgreSQL server's backends (read from /proc: the server must run on this machine), which
do not depend on the machine's load as wall times do. Imports are paid before timing.

    uv run python benchmarks/seed_throughput.py [--days 6] [--tx-per-day 50000] \
        [--db-url postgresql://root@127.0.0.1:5432/test] [--order pipelined-first]
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from fraud_core.commands.history_options import labels_as_of, scorer, world_config
from fraud_core.commands.seed import load_days, simulated_days, store_day
from fraud_core.settings import get_settings
from fraud_core.store import FeedbackStore


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def fresh_schema(server: str, name: str) -> str:
    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"))
    engine.dispose()
    url = make_url(server).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False)


def drop_schema(server: str, name: str) -> None:
    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    engine.dispose()


def server_cpu_seconds(url: str) -> float:
    """CPU seconds used so far by the client backends of `url`'s database (from /proc)."""
    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        pids = conn.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
        ).scalars()
        pids = list(pids)
    engine.dispose()
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


class Timed:
    """Wraps the simulated days and the store, summing the seconds spent in each."""

    def __init__(self, store: FeedbackStore) -> None:
        self.store, self.seconds = store, Counter()

    def days(self, days):
        while True:
            started = time.perf_counter()
            day = next(days, None)
            self.seconds["simulate + score"] += time.perf_counter() - started
            if day is None:
                return
            yield day

    def insert_prediction_matrix(self, *args):
        started = time.perf_counter()
        try:
            return self.store.insert_prediction_matrix(*args)
        finally:
            self.seconds["insert (keys, JSON, CSV, COPY)"] += time.perf_counter() - started

    def upsert_labels(self, rows):
        started = time.perf_counter()
        try:
            return self.store.upsert_labels(rows)
        finally:
            self.seconds["label events"] += time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--tx-per-day", type=int, default=50_000)
    parser.add_argument("--db-url", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument(
        "--order", choices=["serial-first", "pipelined-first"], default="serial-first"
    )
    args = parser.parse_args()
    config = world_config(args.days, args.tx_per_day, None, None, 0.01)
    options = dict(threshold=0.5, exploration=0.0, max_explore_usd=100.0)
    key, cutoff, score = get_settings().hash_key, labels_as_of(None), scorer(None)
    rows = args.days * args.tx_per_day
    suffix = f"{os.getpid()}"
    print(f"{args.days} days x {args.tx_per_day:,} rows, load {os.getloadavg()[0]:.1f}")
    results = {}
    modes = ["serial", "pipelined"]
    for mode in modes if args.order == "serial-first" else modes[::-1]:
        schema = f"seed_{mode}_{suffix}"
        url = fresh_schema(args.db_url, schema)
        try:
            with FeedbackStore(url) as store:
                timed = Timed(store)
                days = simulated_days(config, 0, score, options, key)
                store.count_predictions()  # the pool's connection is open: its CPU counts
                server_before, cpu_before = server_cpu_seconds(url), time.process_time()
                started = time.perf_counter()
                if mode == "serial":
                    for day in timed.days(days):
                        store_day(timed, day, cutoff, 0)
                else:
                    load_days(store, days, cutoff, 0, pipelined=True)
                seconds = time.perf_counter() - started
                cpu = time.process_time() - cpu_before
                server = server_cpu_seconds(url) - server_before
                assert store.count_predictions() == rows
        finally:
            drop_schema(args.db_url, schema)
        results[mode] = seconds
        print(
            f"  {mode:<10} {seconds:7.1f} s  {rows / seconds:9,.0f} rows/s  "
            f"{seconds / rows * 1e6:6.1f} µs/row  peak so far {peak_mb():,.0f} MB  "
            f"load {os.getloadavg()[0]:.1f}"
        )
        for phase, spent in timed.seconds.items() if mode == "serial" else ():
            print(f"      {phase:<32} {spent / rows * 1e6:6.1f} µs/row (wall)")
        print(
            f"      CPU: this process {cpu / rows * 1e6:5.1f} µs/row, PostgreSQL backends "
            f"{server / rows * 1e6:5.1f} µs/row"
        )
    print(f"  pipelined / serial: {results['serial'] / results['pipelined']:.2f}x")


if __name__ == "__main__":
    main()
