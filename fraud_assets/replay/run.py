"""One platform replay from start to report: world, the three arms, figures, report."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click

from fraud_assets.quiet import to_log
from fraud_assets.replay.interrupts import ReplayInterrupted, stop_requests
from fraud_assets.replay.platform_arm import PlatformReplay, run_settings
from fraud_assets.replay.world import ReplaySize, ReplayWorld


def replay_platform(
    seed: int,
    size: ReplaySize,
    state_dir: Path,
    report_dir: Path,
    *,
    db_url: str | None = None,
    show_progress: bool = True,
    echo: Callable[[str], None] = click.echo,
) -> dict[str, Any]:
    """Run the three arms on one world and write the report; the JSON summary.
    ReplayInterrupted on SIGINT or SIGTERM (the platform's state is left as it stood)."""
    with stop_requests() as check_stop:
        return _replay(seed, size, state_dir, report_dir, db_url, show_progress, echo, check_stop)


def _replay(
    seed: int,
    size: ReplaySize,
    state_dir: Path,
    report_dir: Path,
    db_url: str | None,
    show_progress: bool,
    echo: Callable[[str], None],
    check_stop: Callable[[], None],
) -> dict[str, Any]:
    from fraud_assets.replay import baselines, figures, history
    from fraud_core.reports import replay as report

    began = time.perf_counter()
    timing: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        timing[name] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    world = ReplayWorld.simulate(size, seed)
    timed("simulate", started)
    echo(
        f"world: seed {seed}, {len(world.transactions):,} payments, drift onset "
        f"{world.drift_start:%Y-%m-%d}, {size.drift_days} drift days"
    )

    platform = PlatformReplay(world, state_dir, db_url=db_url)
    started = time.perf_counter()
    platform.prepare()
    rows = platform.seed_history()
    timed("seed", started)
    log = state_dir / "first_champion.log"  # Dagster's event stream, MLflow's INFO lines
    echo(f"platform: {rows:,} pre-drift predictions seeded; training the first champion ({log})")
    started = time.perf_counter()
    with to_log(log):
        try:
            first = platform.first_champion()
        finally:  # a stop asked during its run wins over what the run decided
            check_stop()
    timed("first_champion", started)
    platform.start()
    hours = size.drift_days * 24
    bar = (
        click.progressbar(
            length=hours, label="platform", item_show_func=lambda s: s or "", show_pos=True
        )
        if show_progress
        else nullcontext()
    )
    started, scoring = time.perf_counter(), 0.0
    try:
        with bar:
            for _ in range(hours):
                check_stop()
                step_started = time.perf_counter()
                runs = platform.step()
                scoring += time.perf_counter() - step_started - sum(r.seconds for r in runs)
                if show_progress:
                    champion = platform.scorer.slots.champion
                    bar.update(
                        1,
                        f"{platform.now:%Y-%m-%d} champion v{champion.version} "
                        f"{platform.scorer.slots.stage}",
                    )
    except KeyboardInterrupt:
        platform.close()  # the scorer's log flushed, the instance's storages closed
        raise ReplayInterrupted(
            f"replay interrupted at simulated {platform.now:%Y-%m-%d %H:%M} (drift day "
            f"{(platform.now - world.drift_start).days}): no report; the platform's state so "
            f"far is under {state_dir} (a new replay starts afresh)"
        ) from None
    timed("platform_hours", started)
    timing["platform_scoring_delivery_sensors"] = round(scoring, 2)
    timing["sensor_evaluation"] = round(platform.daemon.sensor_seconds, 2)
    jobs: dict[str, dict[str, float]] = {}
    for run in platform.daemon.runs:
        job = jobs.setdefault(run.job, {"runs": 0, "seconds": 0.0, "failed": 0})
        job["runs"] += 1
        job["seconds"] = round(job["seconds"] + run.seconds, 2)
        job["failed"] += not run.success

    decisions = platform.stored_decisions()
    audit = platform.audit()
    load = _model_loader()
    started = time.perf_counter()
    static = baselines.static_blocks(world, load(first).predict)
    timed("static_arm", started)
    started = time.perf_counter()
    if show_progress:
        with click.progressbar(length=size.drift_days, label="oracle  ", show_pos=True) as bar:
            oracle = baselines.oracle_blocks(world, progress=bar.update)
    else:
        oracle = baselines.oracle_blocks(world)
    timed("oracle_arm", started)

    ids = world.transactions["transaction_id"].iloc[world.drift].astype(str)
    served = decisions.set_index("transaction_id")["decision"].reindex(ids)
    if served.isna().any():
        raise RuntimeError(
            f"{int(served.isna().sum())} drift-period payments never reached the store"
        )
    arms = [
        figures.arm_figures("static", world, static),
        figures.arm_figures("platform", world, (served == "block").to_numpy()),
        figures.arm_figures("oracle", world, oracle),
    ]
    events = history.timeline(platform.instance, audit)
    first_alarm = history.first_alarm_days(history.alarms(platform.instance), world.drift_start)
    promoted = history.promotions(audit, world, decisions, load)
    paths = history.release_paths(audit)
    problems = history.release_problems(paths, first)
    checked = figures.targets(arms[0], arms[1], first_alarm, promoted)
    contribution = history.policy_contribution(decisions, world)
    platform.close()
    timing["total_seconds"] = round(time.perf_counter() - began, 1)
    summary = {
        "seed": seed,
        "tx_per_day": size.tx_per_day,
        "pre_drift_days": size.pre_drift_days,
        "drift_days": size.drift_days,
        "drift_onset": world.drift_start.isoformat(),
        "first_champion": first,
        "arms": {arm.name: arm.as_json() for arm in arms},
        "gap_to_oracle_month_6": {
            k: arms[1].month_6[k] - arms[2].month_6[k] for k in ("fpr", "recall", "cost_usd")
        },
        "first_alarm_days": first_alarm,
        "targets": [t.as_json() for t in checked],
        "promotions": promoted,
        "release_paths": paths,
        "release_problems": problems,
        "policy_contribution": contribution,
        "labels_delivered": platform.delivered,
        "settings": run_settings(),
        "timing": {**timing, "jobs": jobs},
        "dagster_home": platform.env["DAGSTER_HOME"],
        "timeline": events,
    }
    page = report.write_report(report_dir, summary, arms, checked, events, world.drift_start)
    summary["report"] = str(page)
    return summary


def _model_loader() -> Callable[[str], Any]:
    """Registry versions loaded once each (the replay's own registry, from the environment)."""
    from fraud_core.registry import BATCH_THREADS, ModelRegistry
    from fraud_core.settings import get_settings

    settings = get_settings()
    registry = ModelRegistry(settings.mlflow_tracking_uri, model_name=settings.model_name)
    cache: dict[str, Any] = {}

    def load(version: str) -> Any:
        if version not in cache:
            cache[version] = registry.load(version, BATCH_THREADS)  # whole months at once
        return cache[version]

    return load


def describe(summary: dict[str, Any]) -> list[str]:
    """The lines the command prints."""
    lines = []
    for name, arm in summary["arms"].items():
        m6, total = arm["month_6"], arm["total"]
        lines.append(
            f"{name:<9} month 6: FPR {m6['fpr']:.2%}, recall {m6['recall']:.2%}, "
            f"cost {m6['cost_usd']:,.0f} USD; six months: {total['cost_usd']:,.0f} USD"
        )
    first = summary["first_alarm_days"]
    lines.append(f"first alarm: {'never' if first is None else f'{first:.1f} days after onset'}")
    for target in summary["targets"]:
        lines.append(
            f"[{'met' if target['met'] else 'MISSED'}] {target['target']}: {target['figure']}"
        )
    for problem in summary["release_problems"]:
        lines.append(f"release problem: {problem}")
    lines.append(f"report: {summary['report']}")
    lines.append(
        f"browse the runs: DAGSTER_HOME={summary['dagster_home']} "
        "uv run dagster dev -w workspace.yaml"
    )
    return lines
