"""Wall time of the retraining job (labeled predictions -> dataset -> model -> gate -> promotion)
on a freshly seeded pre-drift history, against its baseline measured in the same run: fitting
the same recipe on the same training rows with XGBoost alone.

    uv run python benchmarks/retraining.py [--days 120] [--tx-per-day 2000]

Everything lives in a temporary folder (store, MLflow, Dagster instance); nothing under var/.
The run includes what a daemon-launched run pays too: cold imports (mlflow, xgboost) and, on
this fresh MLflow database, its first-use migrations.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--tx-per-day", type=int, default=2000)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-retraining-"))
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    os.environ.update(
        {"FRAUD_VAR_DIR": str(folder / "var"), "DAGSTER_HOME": str(home), "DO_NOT_TRACK": "1"}
    )
    try:
        run(args.days, args.tx_per_day)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(days: int, tx_per_day: int) -> None:
    import dagster as dg
    import pandas as pd

    from fraud_assets.bootstrap import seed_pre_drift_history
    from fraud_assets.definitions import defs
    from fraud_assets.provenance import latest_metadata
    from fraud_core.settings import get_settings
    from fraud_core.training import Recipe, features_and_target, fit, time_split

    settings = get_settings()
    settings.ensure_dirs()
    started = time.perf_counter()
    seed_pre_drift_history(settings.db_url, days, tx_per_day, seed=0)
    seeded = time.perf_counter() - started

    with dg.DagsterInstance.get() as instance:
        job = defs().resolve_job_def("retraining")
        started = time.perf_counter()
        result = job.execute_in_process(instance=instance, raise_on_error=False)
        total = time.perf_counter() - started
        steps = {
            e.step_key: e.event_specific_data.duration_ms / 1000
            for e in result.all_events
            if e.event_type_value == "STEP_SUCCESS"
        }
        dataset = latest_metadata(instance, "training_dataset")
        gate = latest_metadata(instance, "validation_gate")

    rows = pd.read_parquet(dataset["snapshot"])
    train, _ = time_split(rows, 0.2)
    X, y = features_and_target(train)
    started = time.perf_counter()
    fit(X, y, Recipe(), sample_weight=train["weight"].to_numpy())
    bare = time.perf_counter() - started

    print(f"history: {days} days x {tx_per_day} payments seeded in {seeded:.1f} s")
    print(f"training rows: {len(rows):,} ({int(dataset['frauds'])} fraud)")
    print(f"gate: {gate['gate_result']}")
    for step, seconds in steps.items():
        print(f"  {step:<30} {seconds:6.1f} s")
    print(f"retraining run (in process):   {total:6.1f} s  success={result.success}")
    print(f"baseline, bare XGBoost fit:    {bare:6.1f} s")
    print(f"ratio run / bare fit: {total / bare:.2f}x  ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
