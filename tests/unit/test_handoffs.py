"""`HandoffIOManager` on a real Dagster instance: values cross runs as typed objects, per
partition where the asset is partitioned, and a value that is not there fails clearly."""

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from fraud_assets.handoffs import HANDOFF_IO_MANAGER, Handoff, HandoffIOManager
from tests.fixtures.dagster_platform import run_metadata

DAYS = dg.DailyPartitionsDefinition(start_date="2026-05-01", end_date="2026-05-04")


class DayCount(Handoff):
    """A toy hand-off: one day's rows."""

    day: str
    rows: int
    as_of: datetime


@dg.asset(io_manager_key=HANDOFF_IO_MANAGER)
def snapshot() -> dg.Output[DayCount]:
    value = DayCount(day="all", rows=3, as_of=datetime(2026, 5, 4, 1, 2, 3, 456789, tzinfo=UTC))
    return dg.Output(value, metadata={"rows": 3})


@dg.asset
def reader(snapshot: DayCount) -> dg.MaterializeResult:
    assert isinstance(snapshot, DayCount) and snapshot.as_of.microsecond == 456789
    return dg.MaterializeResult(metadata={"rows": snapshot.rows})


@dg.asset(io_manager_key=HANDOFF_IO_MANAGER, partitions_def=DAYS)
def daily(context: dg.AssetExecutionContext) -> DayCount:
    day = context.partition_key
    return DayCount(day=day, rows=int(day[-2:]), as_of=datetime.fromisoformat(day))


@dg.asset(partitions_def=DAYS)
def same_day(context: dg.AssetExecutionContext, daily: DayCount) -> dg.MaterializeResult:
    assert daily.day == context.partition_key
    return dg.MaterializeResult(metadata={"rows": daily.rows})


@dg.asset(
    partitions_def=DAYS,
    ins={"daily": dg.AssetIn(partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-1))},
)
def two_days(daily: dict[str, DayCount]) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"days": sorted(daily), "rows": sum(d.rows for d in daily.values())}
    )


@dg.asset
def all_days(daily: dict[str, DayCount]) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": sorted(daily)})


@dg.asset(io_manager_key=HANDOFF_IO_MANAGER)
def not_a_handoff() -> dict:
    return {"rows": 3}


@pytest.fixture
def run(tmp_path: Path):
    """Materialize assets on one real instance with the IO manager under `tmp_path`."""
    defs = dg.Definitions(
        assets=[snapshot, reader, daily, same_day, two_days, all_days, not_a_handoff],
        resources={HANDOFF_IO_MANAGER: HandoffIOManager(base_dir=str(tmp_path))},
    )
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:

        def materialize(*assets: str, partition: str | None = None):
            return job.execute_in_process(
                instance=instance,
                asset_selection=[dg.AssetKey(a) for a in assets],
                partition_key=partition,
                raise_on_error=False,
            )

        materialize.defs, materialize.instance = defs, instance
        yield materialize


def _failure(result) -> str:
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    error = failure.step_failure_data.error
    return "\n".join(e.message for e in (error, error.cause) if e is not None)


def test_a_value_crosses_runs_typed(run, tmp_path: Path) -> None:
    assert run("snapshot").success
    stored = json.loads((tmp_path / "snapshot.json").read_text())
    assert stored["type"] == "DayCount" and stored["value"]["rows"] == 3
    later = run("reader")  # another run: the value comes from the file
    assert later.success and run_metadata(later, "reader") == {"rows": 3}
    loaded = run.defs.load_asset_value("snapshot", instance=run.instance)
    assert loaded == DayCount(
        day="all", rows=3, as_of=datetime(2026, 5, 4, 1, 2, 3, 456789, tzinfo=UTC)
    )
    assert run_metadata(run("snapshot"), "snapshot") == {"rows": 3}  # for people, unchanged


def test_partitions_are_stored_and_mapped_one_by_one(run, tmp_path: Path) -> None:
    for day in ("2026-05-01", "2026-05-02", "2026-05-03"):
        assert run("daily", partition=day).success
    assert sorted(p.name for p in (tmp_path / "daily").iterdir()) == [
        "2026-05-01.json",
        "2026-05-02.json",
        "2026-05-03.json",
    ]
    same = run("same_day", partition="2026-05-02")
    assert same.success and run_metadata(same, "same_day") == {"rows": 2}
    window = run("two_days", partition="2026-05-03")
    assert window.success
    assert run_metadata(window, "two_days") == {"days": ["2026-05-02", "2026-05-03"], "rows": 5}
    every = run("all_days")
    assert every.success and run_metadata(every, "all_days")["days"] == [
        "2026-05-01",
        "2026-05-02",
        "2026-05-03",
    ]


def test_a_missing_value_names_the_asset_to_materialize(run, tmp_path: Path) -> None:
    message = _failure(run("reader"))
    assert "no value of snapshot" in message and "materialize snapshot first" in message
    assert run("daily", partition="2026-05-02").success
    message = _failure(run("two_days", partition="2026-05-02"))
    assert "daily (partition 2026-05-01)" in message and "materialize daily first" in message


def test_a_stale_or_foreign_value_asks_for_a_rematerialization(run, tmp_path: Path) -> None:
    (tmp_path / "snapshot.json").write_text(json.dumps({"type": "DayCount", "value": {"day": 1}}))
    assert "no longer fits DayCount" in _failure(run("reader"))
    (tmp_path / "snapshot.json").write_text(json.dumps({"type": "Other", "value": {}}))
    assert "holds no known hand-off: rematerialize snapshot" in _failure(run("reader"))


def test_only_handoff_values_are_kept(run) -> None:
    assert "keeps Handoff values only" in _failure(run("not_a_handoff"))
