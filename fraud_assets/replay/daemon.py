"""What `dagster-daemon` does, on a simulated clock and in this process.

Each `tick(now)` evaluates every schedule of the code location at each of its cron times since
the last tick, then every sensor whose minimum interval has passed (with the cursor it returned
last time, as the daemon keeps it), and executes the runs they request on the real instance.
A sensor's request is skipped when a run with its run key exists (the daemon's dedupe).
Resources are initialised once and kept while the environment variables their config reads
keep their values (`_ResourceCache`): a tick sees what a fresh build would give it.
Runs carry the tags the daemon would set (`dagster/sensor_name`, `dagster/schedule_name`,
`dagster/run_key`), so the Dagster UI shows each run's trigger, plus `fraud/simulated_now`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import dagster as dg
from dagster._config.field_utils import IntEnvVar
from dagster._utils.schedules import cron_string_iterator

SIMULATED_NOW_TAG = "fraud/simulated_now"
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
"""The console stays quiet (a refused gate is an expected failure); every event still goes to the
instance, where the Dagster UI shows it."""


@dataclass(frozen=True)
class LaunchedRun:
    """One run the simulated daemon executed."""

    run_id: str
    job: str
    trigger: str
    simulated_now: datetime
    success: bool
    seconds: float
    tags: dict[str, str]


class _HeldInstanceScheduleContext(dg.ScheduleEvaluationContext):
    """`build_schedule_context`'s context on the instance this process holds. Dagster's builds
    a new instance from the ref at its first use (every storage, each checking its migrations:
    about 70 ms a tick, 5 % of a `--quick` replay); the real daemon pays that in its code server,
    but here the instance is already open."""

    def __init__(
        self, instance: dg.DagsterInstance, due: datetime, resources: dict[str, Any]
    ) -> None:
        from dagster._core.execution.build_resources import wrap_resources_for_execution

        super().__init__(instance.get_ref(), due, resources=wrap_resources_for_execution(resources))
        self._instance = instance


@dataclass
class InProcessDaemon:
    """Sensors and schedules of `defs`, ticked on demand against `instance`."""

    defs: dg.Definitions
    instance: dg.DagsterInstance
    on_run: Callable[[LaunchedRun], None] | None = None
    cursors: dict[str, str | None] = field(default_factory=dict)
    last_evaluated: dict[str, datetime] = field(default_factory=dict)
    last_tick: datetime | None = None
    runs: list[LaunchedRun] = field(default_factory=list)
    sensor_seconds: float = 0.0

    def __post_init__(self) -> None:
        repository = self.defs.get_repository_def()
        self.sensors = sorted(repository.sensor_defs, key=lambda s: s.name)
        self.schedules = sorted(repository.schedule_defs, key=lambda s: s.name)
        self.resource_cache = _ResourceCache(self.defs.resources or {}, self.instance)

    def close(self) -> None:
        """Tear down the resources kept between ticks."""
        self.resource_cache.close()

    def tick(self, now: datetime) -> list[LaunchedRun]:
        """Schedules due in (last tick, now], then the sensors; the runs executed."""
        launched = []
        if self.last_tick is not None:
            for schedule in self.schedules:
                for due in self._due(schedule, self.last_tick, now):
                    launched += self._schedule_tick(schedule, due, now)
        self.last_tick = now
        for sensor in self.sensors:
            last = self.last_evaluated.get(sensor.name)
            interval = sensor.minimum_interval_seconds or 30
            if last is None or (now - last).total_seconds() >= interval:
                self.last_evaluated[sensor.name] = now
                launched += self._sensor_tick(sensor, now)
        return launched

    @staticmethod
    def _due(schedule: dg.ScheduleDefinition, after: datetime, until: datetime) -> list[datetime]:
        times = []
        for moment in cron_string_iterator(
            after.timestamp(), schedule.cron_schedule, schedule.execution_timezone or "UTC"
        ):
            if moment > until:
                break
            if moment > after:
                times.append(moment)
        return times

    def _schedule_tick(self, schedule: dg.ScheduleDefinition, due: datetime, now: datetime):
        resources = self._resources(schedule.required_resource_keys)
        with _HeldInstanceScheduleContext(self.instance, due, resources) as context:
            data = schedule.evaluate_tick(context)
        tags = {"dagster/schedule_name": schedule.name}
        return [
            self._execute(request, schedule.job_name, tags, now)
            for request in data.run_requests or []
        ]

    def _sensor_tick(self, sensor: dg.SensorDefinition, now: datetime) -> list[LaunchedRun]:
        started = time.perf_counter()
        with dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursors.get(sensor.name),
            definitions=self.defs,
            resources=self._resources(sensor.required_resource_keys),
        ) as context:
            # a sensor logs its verdict every tick (also its skip message or its run's tags):
            # on the console it would drown the progress bar
            context.log.setLevel(logging.WARNING)
            data = sensor.evaluate_tick(context)
        self.sensor_seconds += time.perf_counter() - started
        if data.cursor is not None:
            self.cursors[sensor.name] = data.cursor
        launched = []
        for request in data.run_requests or []:
            key = request.run_key
            if key and self.instance.get_runs(
                dg.RunsFilter(tags={"dagster/run_key": key}), limit=1
            ):
                continue
            tags = {"dagster/sensor_name": sensor.name, **({"dagster/run_key": key} if key else {})}
            job = request.job_name or sensor.job_name
            launched.append(self._execute(request, job, tags, now))
        return launched

    def _resources(self, keys: set[str]) -> dict[str, Any]:
        return self.resource_cache.get(keys)

    def _execute(
        self, request: dg.RunRequest, job_name: str, tags: dict[str, str], now: datetime
    ) -> LaunchedRun:
        started = time.perf_counter()
        job = self.defs.resolve_job_def(job_name)
        all_tags = {**request.tags, **tags, SIMULATED_NOW_TAG: now.isoformat()}
        result = job.execute_in_process(
            instance=self.instance,
            run_config={**_plain(request.run_config), **QUIET},
            tags=all_tags,
            partition_key=request.partition_key,
            raise_on_error=False,
        )
        trigger = tags.get("dagster/sensor_name") or tags.get("dagster/schedule_name", "")
        run = LaunchedRun(
            result.run_id,
            job_name,
            trigger,
            now,
            result.success,
            time.perf_counter() - started,
            all_tags,
        )
        self.runs.append(run)
        if self.on_run is not None:
            self.on_run(run)
        return run


class _ResourceCache:
    """Resources initialised once and reused by every tick while the environment variables
    their config reads (nested resources' too) keep their values; one whose variables changed
    is rebuilt (the `clock` and the `lake` on each move of `FRAUD_NOW`). What `dagster-daemon`
    builds afresh each tick, at ~40 ms per sensor evaluation here; a resource that is not a
    `ConfigurableResource` (a legacy `@resource`) is still handed to Dagster to build per tick.
    """

    def __init__(self, definitions: dict[str, Any], instance: dg.DagsterInstance) -> None:
        self.definitions, self.instance = definitions, instance
        self.built: dict[str, tuple[dict[str, Any], Any, ExitStack]] = {}

    def get(self, keys: set[str]) -> dict[str, Any]:
        """Resource definitions for `keys`, ready to pass to a context builder."""
        out = {}
        for key in keys:
            resource = self.definitions[key]
            if isinstance(resource, dg.ConfigurableResource):
                resource = dg.ResourceDefinition.hardcoded_resource(self._value(key, resource))
            out[key] = resource
        return out

    def _value(self, key: str, resource: dg.ConfigurableResource) -> Any:
        reads = {v.env_var_name: v.get_value() for v in _env_vars(resource)}
        cached = self.built.get(key)
        if cached is None or cached[0] != reads:
            if cached is not None:
                cached[2].close()
            stack = ExitStack()
            built = stack.enter_context(dg.build_resources({key: resource}, self.instance))
            cached = self.built[key] = (reads, getattr(built, key), stack)
        return cached[1]

    def close(self) -> None:
        for _, _, stack in self.built.values():
            stack.close()
        self.built.clear()


def _env_vars(resource: dg.ConfigurableResource) -> list[Any]:
    """The `EnvVar`s in a resource's config, nested resources included."""
    found = []
    for value in vars(resource).values():
        if isinstance(value, dg.EnvVar | IntEnvVar):
            found.append(value)
        elif isinstance(value, dg.ConfigurableResource):
            found += _env_vars(value)
    return found


def _plain(run_config: Any) -> dict:
    """A RunRequest's run config as the dict `execute_in_process` takes."""
    if run_config is None:
        return {}
    return run_config if isinstance(run_config, dict) else run_config.to_config_dict()
