"""`shadow_ready_sensor` and `canary_health_sensor`: the release's clock.

Both read the registry (aliases and the version's stage tags) and the store, and request at
most one run per triggering state (run_key: version + stage start), deduplicated by hand as
well so that `build_sensor_context` evaluations behave like the daemon. A failed run blocks its
run_key for good, so a failed attempt is retried under `<key>:retry<n>` (a rollback must not
be lost to one failure).
"""

import json
import logging
from dataclasses import asdict
from typing import TYPE_CHECKING

import dagster as dg

from fraud_assets.cadence import sensor_interval
from fraud_assets.defs.release.jobs import (
    canary_stage_job,
    promotion_job,
    release_start_job,
    rollback_job,
)
from fraud_assets.defs.release.settings import ReleaseSettings
from fraud_assets.provenance import REASON_TAG, TRIGGER_TAG
from fraud_assets.resources import Clock, FeedbackStoreResource, RegistryResource

if TYPE_CHECKING:
    from fraud_core.release_data import ScorerCounters

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def _free_key(instance: dg.DagsterInstance, key: str) -> str | None:
    """`key`, or its next retry key after failed runs; None while one is in flight or done."""
    for attempt in range(MAX_ATTEMPTS):
        candidate = key if attempt == 0 else f"{key}:retry{attempt}"
        runs = instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": candidate}), limit=1)
        if not runs:
            return candidate
        if runs[0].status != dg.DagsterRunStatus.FAILURE:
            return None
    return None


def _request(sensor: str, job: str, run_key: str, reason: str, run_config: dict):
    tags = {TRIGGER_TAG: f"sensor:{sensor}", REASON_TAG: reason}
    return dg.RunRequest(run_key=run_key, job_name=job, run_config=run_config, tags=tags)


@dg.sensor(
    name="shadow_ready_sensor",
    jobs=[release_start_job],
    minimum_interval_seconds=sensor_interval(60),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Once the challenger has shadowed enough traffic for long enough, judges it "
    "(shadow_evaluation) and opens the first canary stage.",
)
def shadow_ready_sensor(
    context: dg.SensorEvaluationContext,
    registry: RegistryResource,
    store: FeedbackStoreResource,
    release: ReleaseSettings,
    clock: Clock,
):
    from fraud_core import release_ops
    from fraud_core.registry import CANARY, CHALLENGER
    from fraud_core.store.release_queries import shadow_count

    facade = registry.open()
    aliases = facade.aliases()
    version = aliases.get(CHALLENGER)
    if version is None or aliases.get(CANARY) == version:
        return dg.SkipReason("no challenger in shadow")
    if CANARY in aliases:  # one release at a time: the challenger keeps shadowing meanwhile
        return dg.SkipReason(f"the canary release of version {aliases[CANARY]} is in progress")
    plan = release.plan()
    since = release_ops.stage_started(facade, version)
    elapsed = (clock.current() - since).total_seconds()
    rows = shadow_count(store.open(), version, since)
    if rows < plan.shadow_rows or elapsed < plan.shadow_min_seconds:
        return dg.SkipReason(
            f"version {version} shadowed {rows} of {plan.shadow_rows} rows in "
            f"{elapsed:.0f} of {plan.shadow_min_seconds:.0f} s"
        )
    run_key = _free_key(context.instance, f"shadow:{version}:{since.isoformat()}")
    if run_key is None:
        return dg.SkipReason(f"version {version}: a shadow evaluation ran or is running")
    reason = f"version {version} shadowed {rows} rows over {elapsed:.0f} s"
    config = {"ops": {"canary_release": {"config": {"reason": f"shadow passed: {reason}"}}}}
    return _request("shadow_ready_sensor", "release_start", run_key, reason, config)


@dg.sensor(
    name="canary_health_sensor",
    jobs=[canary_stage_job, promotion_job, rollback_job],
    minimum_interval_seconds=sensor_interval(60),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Judges the current canary stage: rolls back on an unhealthy canary (evidence "
    "that it blocks more customers than the champion, errors, p99 latency, FPR), advances once "
    "the stage has its size and minimum duration, promotes after the last stage.",
)
def canary_health_sensor(
    context: dg.SensorEvaluationContext,
    registry: RegistryResource,
    store: FeedbackStoreResource,
    release: ReleaseSettings,
    clock: Clock,
):
    from fraud_core.registry import CANARY, CHAMPION
    from fraud_core.release import evaluate_stage
    from fraud_core.release_data import ScorerCounters, stage_window

    facade = registry.open()
    aliases, percent = facade.release_state()
    version = aliases.get(CANARY)
    if version is None or percent == 0:
        return dg.SkipReason("no canary is serving")
    busy = _release_run_in_flight(context.instance)
    if busy:  # its outcome (a new stage, a promotion) is not in the registry yet
        return dg.SkipReason(f"release run {busy} is in flight")
    plan = release.plan()
    since, champion_since = stage_window(facade, version, percent, plan)
    stage_key = f"{version}:{percent}:{since.isoformat()}"
    cursor = json.loads(context.cursor) if context.cursor else {}
    declines = None
    if release.prometheus_url:  # every replica, over the stage so far
        elapsed = (clock.current() - since).total_seconds()
        in_stage, declines = _replica_counters(release.prometheus_url, version, elapsed)
    else:
        counters = _scorer_counters(release.scorer_url, version)
        if counters is not None and cursor.get("stage") != stage_key:
            cursor = {"stage": stage_key, "baseline": asdict(counters)}  # first tick of stage
            context.update_cursor(json.dumps(cursor))
        baseline = ScorerCounters(**cursor["baseline"]) if cursor.get("baseline") else None
        in_stage = counters.since(baseline) if counters is not None else None
    stage = (version, percent, plan.stage_size(percent))
    sample = _stage_sample(store.open(), in_stage, stage, (since, champion_since), clock)
    health = evaluate_stage(sample, plan)
    context.log.info(f"canary {version} at {percent}%: {health.summary}")
    if health.verdict == "wait":
        return dg.SkipReason(f"canary {version} at {percent}%: {health.summary}")
    figures = {**health.figures, "percent": percent}
    if declines is not None:
        figures["prometheus_decline_rates"] = declines
    figures = json.dumps(figures, default=str)
    reason = f"canary {version} at {percent}%: {health.summary}"
    if health.verdict == "rollback":
        job, run_key = "rollback", f"rollback:{stage_key}"
        config = {"version": version, "reason": reason, "figures": figures}
        run_config = {"ops": {"rollback_release": {"config": config}}}
    else:
        job = "promotion" if percent == plan.stages[-1] else "canary_stage"
        run_key = f"{job}:{stage_key}"
        op = "promoted_model" if job == "promotion" else "canary_release"
        config = {"reason": reason, "figures": figures}
        if job == "promotion":  # a champion moved by hand meanwhile makes the promotion stale
            config["expect_champion"] = aliases.get(CHAMPION, "")
        run_config = {"ops": {op: {"config": config}}}
    free = _free_key(context.instance, run_key)
    if free is None:
        return dg.SkipReason(f"a run for {run_key} ran or is running")
    return _request("canary_health_sensor", job, free, reason, run_config)


def _release_run_in_flight(instance: dg.DagsterInstance) -> str | None:
    """Id of a queued or running release run (stage, promotion, rollback), if any."""
    from fraud_assets.retraining_state import IN_FLIGHT

    for job in ("canary_stage", "promotion", "rollback", "release_start"):
        runs = instance.get_runs(dg.RunsFilter(job_name=job, statuses=IN_FLIGHT), limit=1)
        if runs:
            return runs[0].run_id
    return None


def _scorer_counters(url: str, version: str) -> "ScorerCounters | None":
    """The scorer's canary counters; None when no scorer is configured or it is unreachable
    (the stage is then judged on the store's figures alone)."""
    import httpx

    from fraud_core.release_data import scorer_counters

    if not url:
        return None
    try:
        return scorer_counters(url, version)
    except httpx.HTTPError as error:
        log.warning("scorer metrics unavailable at %s: %s", url, error)
        return None


def _replica_counters(url: str, version: str, elapsed: float):
    """(canary counters, decline rate per variant) from Prometheus over the stage so far; (None,
    None) when it is unreachable (the stage is then judged on the store's figures alone)."""
    import httpx

    from fraud_core.release_prometheus import canary_health

    try:
        health = canary_health(url, version, elapsed)
    except (httpx.HTTPError, ValueError) as error:
        log.warning("Prometheus unavailable at %s: %s", url, error)
        return None, None
    return health.canary, health.decline_rates


def _stage_sample(store, scorer: "ScorerCounters | None", stage, windows, clock: Clock):
    """`stage`: (version, percent, size); `windows`: (stage start, start of the champion's
    comparison rows)."""
    from fraud_core.release import StageSample
    from fraud_core.release_data import canary_fpr, stage_declines

    version, percent, size = stage
    since, champion_since = windows
    whole, tested = stage_declines(store, version, since, champion_since, size)
    fpr, labelled = canary_fpr(store, since, version)
    return StageSample(
        percent=percent,
        canary_n=whole.canary_n,
        canary_blocks=whole.canary_blocks,
        champion_n=whole.champion_n,
        champion_blocks=whole.champion_blocks,
        elapsed_seconds=(clock.current() - since).total_seconds(),
        canary_requests=scorer.requests if scorer else None,
        canary_errors=scorer.errors if scorer else None,
        p99_latency_seconds=scorer.p99() if scorer else None,
        fpr=fpr,
        fpr_labels=labelled,
        tested=tested,
    )
