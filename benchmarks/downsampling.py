"""Negative downsampling of legitimate training rows (weights x 1/fraction): the gate's figures
on the full holdout and the fit time at several keep fractions, beside fraction 1.0 (all rows)
in the same run, on the same training snapshot.

    uv run python benchmarks/downsampling.py [--days 120] [--tx-per-day 3000]
        [--fractions 0.5,0.2,0.1,0.05] [--draws 3] [--cluster]

A pre-drift history is seeded (`fraudops seed`) into a temporary SQLite store, the
`labeled_predictions` and `training_dataset` assets build the 90-day training snapshot, then the
case study's recipe is fitted in process (`fraud_core.training.fit`) on the training share
downsampled by `fraud_core.training.downsample_legit` and evaluated on the whole holdout as the
gate does (`evaluate` at threshold 0.5). Each fraction is fitted `--draws` times (hash seeds
0, 1, ...; at 1.0 the same rows each time, only the time varies): the table shows the mean and,
in brackets, the range. `--cluster` adds the same fits on a local 2-worker Dask cluster
(`fraud_core.cluster.fit_on_cluster`, `xgboost.dask`; the training share scattered one day per
partition), the path `FRAUD_DASK_ADDRESS` selects. Nothing under var/.
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
FIGURES = ("f1", "recall", "precision", "fpr", "pr_auc", "expected_cost_usd")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--tx-per-day", type=int, default=3000)
    parser.add_argument("--fractions", default="0.5,0.2,0.1,0.05")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--cluster", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-downsampling-"))
    home = folder / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    os.environ.update(
        {"FRAUD_VAR_DIR": str(folder / "var"), "DAGSTER_HOME": str(home), "DO_NOT_TRACK": "1"}
    )
    try:
        fractions = [float(f) for f in args.fractions.split(",")]
        run(args.days, args.tx_per_day, fractions, args.draws, args.cluster)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def snapshot(days: int, tx_per_day: int) -> str:
    """The training snapshot of a freshly seeded pre-drift history."""
    import dagster as dg

    from fraud_assets.bootstrap import seed_pre_drift_history
    from fraud_assets.definitions import defs
    from fraud_assets.provenance import latest_metadata
    from fraud_core.settings import get_settings

    settings = get_settings()
    settings.ensure_dirs()
    seed_pre_drift_history(settings.db_url, days, tx_per_day, seed=0)
    with dg.DagsterInstance.get() as instance:
        job = defs().resolve_implicit_global_asset_job_def()
        keys = [dg.AssetKey("labeled_predictions"), dg.AssetKey("training_dataset")]
        result = job.execute_in_process(instance=instance, asset_selection=keys)
        assert result.success
        return latest_metadata(instance, "training_dataset")["snapshot"]


def run(days: int, tx_per_day: int, fractions: list[float], draws: int, cluster: bool) -> None:
    import pandas as pd
    import xgboost  # noqa: F401  (imported before the first fit is timed)

    from fraud_core.training import (
        GatePolicy,
        Recipe,
        downsample_legit,
        evaluate,
        features_and_target,
        fit,
        time_split,
    )

    train, holdout = time_split(pd.read_parquet(snapshot(days, tx_per_day)), 0.2)
    X_holdout, _ = features_and_target(holdout)
    legit = int((train["label"] == "legit").sum())
    print(f"history: {days} days x {tx_per_day} payments; training share {len(train):,} rows "
          f"({len(train) - legit} fraud), holdout {len(holdout):,} rows "
          f"({int((holdout['label'] == 'fraud').sum())} fraud)")  # fmt: skip

    def measure(fraction: float, seed: int, cluster: tuple | None = None) -> dict[str, float]:
        """One fit, in process or on `cluster` (a client, the scattered training days)."""
        recipe = Recipe(legit_keep_fraction=fraction, seed=seed)
        if cluster is None:
            rows = downsample_legit(train, fraction, seed)
            X, y = features_and_target(rows)
            started = time.perf_counter()
            model = fit(X, y, recipe, rows["weight"].to_numpy())
        else:  # fit_on_cluster downsamples on the workers
            from fraud_core.cluster import fit_on_cluster

            rows = downsample_legit(train, fraction, seed)
            started = time.perf_counter()
            model = fit_on_cluster(*cluster, recipe)
        seconds = time.perf_counter() - started
        figures = evaluate(holdout, model.predict_proba(X_holdout)[:, 1], GatePolicy()).metrics
        return {**{k: figures[k] for k in FIGURES}, "fit_s": seconds, "rows": len(rows)}

    warm = downsample_legit(train, 0.05, 0)  # a first fit pays one-off costs: not timed
    fit(*features_and_target(warm), Recipe(n_estimators=5), warm["weight"].to_numpy())
    header = ["keep", "fit rows", *FIGURES, "fit s"]
    print("| " + " | ".join(header) + " |")
    print("|" + " --- |" * len(header))
    for fraction in [1.0, *fractions]:
        row(fraction, "", [measure(fraction, s) for s in range(draws)])
    if cluster:
        from dask.distributed import Client, LocalCluster

        with (
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as local,
            Client(local) as client,
        ):
            days = [day for _, day in train.groupby(train["event_time"].dt.floor("D"))]
            parts = client.scatter(days)  # the training share, one day per partition
            for fraction in [1.0, *fractions]:
                row(
                    fraction,
                    " (dask)",
                    [measure(fraction, s, (client, parts)) for s in range(draws)],
                )
    print(f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {os.getloadavg()[0]:.1f})")


def row(fraction: float, engine: str, measured: list[dict[str, float]]) -> None:
    """One table row: each figure's mean over the draws and, with several, their range."""
    import numpy as np
    import pandas as pd

    results = pd.DataFrame(measured)
    cells = [f"{fraction:g}{engine}", f"{int(results['rows'].mean()):,}"]
    for name in [*FIGURES, "fit_s"]:
        values = results[name].to_numpy()
        digits = 0 if name == "expected_cost_usd" else (1 if name == "fit_s" else 4)
        cell = f"{np.mean(values):,.{digits}f}"
        if len(values) > 1:
            cell += f" [{values.min():,.{digits}f}-{values.max():,.{digits}f}]"
        cells.append(cell)
    print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
