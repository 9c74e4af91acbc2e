"""The case study's volume on one machine: each stage's wall time and peak memory on the columnar
path, beside today's path (the main branch's code, row-by-row JSON reads) in the same run.

    uv run python benchmarks/scale.py [--tx-per-day 1000] [--days 140] [--baseline main] \
        [--db-url postgresql://root@127.0.0.1:5432/test]

Two stores per run (fresh PostgreSQL schemas, dropped at the end), each seeded by its path's
streaming `fraudops seed` (the schemas differ: this tree partitions `predictions`); then the
retraining job, the monitoring job, `threshold_policy` and `business_impact` run on each, each
path with its own Dagster instance, MLflow and var/ folders: the columnar path (this tree) and
the baseline (`git archive <baseline>` into a temporary folder, first on PYTHONPATH);
`--no-baseline` runs this tree only; `--store NAME` keeps this tree's store in schema NAME (seed
it once, then leave `seed` out of `--stages` to reuse it). Every stage runs in its own process;
its peak memory is the process's high-water mark (VmHWM). Prints one line per stage and path,
and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("seed", "retraining", "monitoring", "threshold_policy", "business_impact")
JOBS = {"threshold_policy": "threshold_policy_update", "business_impact": "business_report"}


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_stage(stage: str, days: int, tx_per_day: int) -> dict:
    """One stage in this process (the environment names the store and folders)."""
    import dagster as dg

    started = time.perf_counter()
    steps: dict[str, float] = {}
    ok, failure = True, ""
    if stage == "seed":
        from fraud_assets.bootstrap import seed_pre_drift_history

        seed_pre_drift_history(os.environ["FRAUD_DB_URL"], days, tx_per_day, seed=0)
    else:
        from fraud_assets.definitions import defs

        definitions = defs()
        with dg.DagsterInstance.get() as instance:
            job = definitions.resolve_job_def(JOBS.get(stage, stage))
            result = job.execute_in_process(instance=instance, raise_on_error=False)
            ok = result.success
            for event in result.all_events:
                if event.event_type_value == "STEP_SUCCESS":
                    steps[event.step_key] = event.event_specific_data.duration_ms / 1000
                elif event.is_step_failure:
                    error = event.step_failure_data.error
                    failure = f"{event.step_key}: {error.message.strip() if error else '?'}"
    return {
        "stage": stage,
        "seconds": time.perf_counter() - started,
        "peak_mb": peak_mb(),
        "ok": ok,
        "steps": steps,
        "error": failure,
    }


def child(stage: str, args: argparse.Namespace, env: dict, pythonpath: Path | None) -> dict:
    """`run_stage` in a fresh process (its own imports, its own peak memory)."""
    env = {**os.environ, **env}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [sys.executable, __file__, "--stage", stage, "--days", str(args.days)]
    command += ["--tx-per-day", str(args.tx_per_day)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return {"stage": stage, "seconds": float("nan"), "peak_mb": float("nan"), "ok": False,
                "steps": {}, "error": f"exit {done.returncode}: {' | '.join(tail)}"}  # fmt: skip
    return json.loads(lines[-1])


def schema_url(server: str, name: str, fresh: bool = True) -> str:
    """URL of schema `name` on `server`: created empty when `fresh`, else kept if it exists."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    create = f"DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
    with engine.begin() as conn:
        conn.execute(text(create if fresh else f"CREATE SCHEMA IF NOT EXISTS {name}"))
    engine.dispose()
    url = make_url(server).update_query_dict({"options": f"-csearch_path={name}"})
    return url.render_as_string(hide_password=False)


def drop_schema(server: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(make_url(server).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    engine.dispose()


def path_env(folder: Path, db_url: str) -> dict:
    """Environment of one path: its store, Dagster instance, MLflow and var/ folders."""
    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    return {
        "FRAUD_DB_URL": db_url,
        "FRAUD_VAR_DIR": str(folder / "var"),
        "DAGSTER_HOME": str(home),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "FRAUD_MLFLOW_ARTIFACTS": str(folder / "mlartifacts"),
        "DO_NOT_TRACK": "1",
    }


def show(path: str, result: dict, rows: int) -> None:
    seconds, peak = result["seconds"], result["peak_mb"]
    per_row = f"{seconds / rows * 1e6:7.1f} µs/row" if rows else ""
    status = "ok" if result["ok"] else f"FAILED {result.get('error', '')}"
    print(
        f"  {result['stage']:<17} {path:<9} {seconds:8.1f} s  {peak:8.0f} MB  {per_row}  {status}"
    )
    for step, step_seconds in result["steps"].items():
        print(f"      {step:<28} {step_seconds:8.1f} s")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=140)
    parser.add_argument("--tx-per-day", type=int, default=1000)  # make bench: minutes
    parser.add_argument("--baseline", default="main", help="git revision of today's path")
    parser.add_argument("--db-url", default="postgresql://root@127.0.0.1:5432/test")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="this tree only (today's path runs out of memory at the case study's volume)",
    )
    parser.add_argument(
        "--store",
        help="keep this tree's store in this schema (created if missing, never dropped): seed "
        "it once, then omit `seed` from --stages to reuse it",
    )
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        print(json.dumps(run_stage(args.stage, args.days, args.tx_per_day)))
        return

    folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    base = folder / "baseline-code"
    base.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", args.baseline], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
    schemas = (args.store or f"bench_scale_{os.getpid()}", f"bench_scale_{os.getpid()}_base")
    rows = args.days * args.tx_per_day
    stages = args.stages.split(",")
    print(f"{args.days} days x {args.tx_per_day:,} payments/day = {rows:,} predictions, "
          f"PostgreSQL {args.db_url}; load average {os.getloadavg()}")  # fmt: skip
    try:
        # Each path on its own store: the schemas differ (this tree partitions `predictions`).
        new_url = schema_url(args.db_url, schemas[0], fresh=not args.store)
        new_env = path_env(folder / "columnar", new_url)
        old_env = path_env(folder / "baseline", schema_url(args.db_url, schemas[1]))
        for stage in stages:
            show("columnar", child(stage, args, new_env, None), rows)
            if not args.no_baseline:
                show("baseline", child(stage, args, old_env, base), rows)
        print(f"load average {os.getloadavg()}")
    finally:
        for name in schemas:
            if name != args.store:
                drop_schema(args.db_url, name)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
