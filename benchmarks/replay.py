"""Where the time of a platform replay goes: simulation, seeding, the first champion, the
hourly scoring + label delivery + sensor evaluation, and each Dagster job (runs, seconds), with
the serving path's cost per payment against its baseline measured in the same run: the same
champion scoring the same payments in one bare batch call.

    uv run python benchmarks/replay.py [--quick] [--seed 0] [--days 180] [--keep DIR]

Everything lives in a temporary folder (store, MLflow, Dagster instance); nothing under var/.
With `--keep DIR`, what the platform decided is kept for comparing two versions of the code on
the same world: DIR/summary.json (the replay's JSON summary) and DIR/decisions.csv (every
drift-period payment's stored decision, score, threshold, model and policy version).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="800 payments a day, not 5,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=180, help="drift days to replay")
    parser.add_argument("--keep", type=Path, help="folder for summary.json and decisions.csv")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    saved = dict(os.environ)
    try:
        run(args, folder)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> None:
    from fraud_assets.replay.run import replay_platform
    from fraud_assets.replay.world import ReplaySize, ReplayWorld

    base = ReplaySize.quick() if args.quick else ReplaySize()
    size = ReplaySize(tx_per_day=base.tx_per_day, drift_days=args.days)
    summary = replay_platform(
        args.seed, size, folder / "state", folder / "report", show_progress=False, echo=print
    )
    if args.keep is not None:
        keep(summary, folder / "state", args.keep)
    timing = summary["timing"]
    payments = size.tx_per_day * size.drift_days
    print(f"\nreplay of {size.drift_days} drift days x {size.tx_per_day:,} payments a day "
          f"(seed {args.seed}): {timing['total_seconds']:.0f} s in all, "
          f"{time.process_time():.0f} s of CPU (steadier on a shared machine)")  # fmt: skip
    for name in ("simulate", "seed", "first_champion", "platform_hours", "static_arm",
                 "oracle_arm"):  # fmt: skip
        print(f"  {name:<36} {timing[name]:>8.1f} s")
    hourly = timing["platform_scoring_delivery_sensors"]
    per_payment = hourly / payments
    print(f"  {'scoring + labels + sensors':<36} {hourly:>8.1f} s"
          f"  (sensors {timing['sensor_evaluation']:.1f} s)")  # fmt: skip
    print("  jobs (runs, seconds, failed):")
    for job, figures in sorted(timing["jobs"].items(), key=lambda j: -j[1]["seconds"]):
        print(f"    {job:<34} {figures['runs']:>5} runs {figures['seconds']:>8.1f} s"
              f" {figures['failed']:>3} failed")  # fmt: skip

    # Baseline, same run: the first champion on the same payments in one batch call.
    from fraud_core.features import featurize_frame
    from fraud_core.registry import ModelRegistry
    from fraud_core.settings import get_settings

    world = ReplayWorld.simulate(size, args.seed)
    settings = get_settings()  # still the replay's environment
    model = ModelRegistry(settings.mlflow_tracking_uri, model_name=settings.model_name).load(
        summary["first_champion"]
    )
    started = time.perf_counter()
    model.predict(featurize_frame(world.transactions.iloc[world.drift]))
    bare = (time.perf_counter() - started) / payments
    print(f"\nserving path per payment (scoring, log, shadow, labels, sensors): "
          f"{per_payment * 1e6:,.0f} us; bare batch featurize + predict: {bare * 1e6:,.1f} us "
          f"({per_payment / bare:,.0f}x)")  # fmt: skip


def keep(summary: dict, state: Path, out: Path) -> None:
    """The summary (as JSON) and the stored drift-period decisions (the replay's own SQLite
    store, read before its folder is deleted) under `out`."""
    import json
    import sqlite3

    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=1, sort_keys=True, default=str))
    query = (
        "SELECT transaction_id, decision, model_version, variant, policy_version, explored, "
        "score, threshold FROM predictions WHERE event_time >= ? ORDER BY transaction_id"
    )
    onset = summary["drift_onset"].replace("T", " ")[:19]  # SQLite keeps 'YYYY-MM-DD HH:MM:SS...'
    with sqlite3.connect(state / "var" / "fraud.db") as conn:
        frame = pd.read_sql_query(query, conn, params=(onset,))
    frame.to_csv(out / "decisions.csv", index=False)


if __name__ == "__main__":
    main()
