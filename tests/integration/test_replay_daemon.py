"""The replay's in-process daemon on a real Dagster instance: resources kept between ticks
behave as the ones `dagster-daemon` builds per tick."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from fraud_assets.replay.daemon import InProcessDaemon
from fraud_assets.resources import Clock, FeedbackStoreResource, RegistryResource

T0 = datetime(2025, 6, 1, tzinfo=UTC)
SETUPS: list[str] = []


class Counted(dg.ConfigurableResource):
    """Records each initialisation."""

    name: str

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        SETUPS.append(self.name)


@dg.op
def noop() -> None:
    pass


@dg.job
def seen_job() -> None:
    noop()


@dg.sensor(job=seen_job, minimum_interval_seconds=60)
def watcher(
    context: dg.SensorEvaluationContext, clock: Clock, counted: Counted, registry: RegistryResource
):
    now = clock.current()
    return dg.SensorResult(
        skip_reason=f"{counted.name} at {now.isoformat()}", cursor=now.isoformat()
    )


@pytest.fixture
def daemon(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAUD_NOW", T0.isoformat())
    monkeypatch.setenv("FRAUD_TEST_DB", f"sqlite:///{tmp_path / 'fraud.db'}")
    store = FeedbackStoreResource(db_url=dg.EnvVar("FRAUD_TEST_DB"))
    defs = dg.Definitions(
        sensors=[watcher],
        jobs=[seen_job],
        resources={
            "clock": Clock(now=dg.EnvVar("FRAUD_NOW")),
            "counted": Counted(name="counted"),
            "registry": RegistryResource(
                tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="m", store=store
            ),
        },
    )
    SETUPS.clear()
    with dg.instance_for_test() as instance:
        daemon = InProcessDaemon(defs, instance)
        yield daemon
        daemon.close()


def test_kept_resources_follow_the_clock_and_are_built_once(daemon, monkeypatch) -> None:
    seen = []
    for hour in range(4):
        now = T0 + timedelta(hours=hour)
        monkeypatch.setenv("FRAUD_NOW", now.isoformat())
        daemon.tick(now)
        seen.append(daemon.cursors["watcher"])
    assert seen == [(T0 + timedelta(hours=h)).isoformat() for h in range(4)]
    assert SETUPS == ["counted"]  # no environment variable of its own: initialised once
    clock = daemon.resource_cache.built["clock"]
    assert clock[0] == {"FRAUD_NOW": (T0 + timedelta(hours=3)).isoformat()}


def test_a_changed_variable_rebuilds_the_resources_that_read_it(
    daemon, monkeypatch, tmp_path
) -> None:
    daemon.tick(T0)
    first = daemon.resource_cache.built["registry"][1]
    monkeypatch.setenv("FRAUD_TEST_DB", f"sqlite:///{tmp_path / 'other.db'}")
    daemon.tick(T0 + timedelta(hours=1))
    second = daemon.resource_cache.built["registry"][1]
    assert second is not first and second.store.db_url.endswith("other.db")
