"""The replay's pure parts: label delivery order, the figures of an arm, release paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from fraud_assets.replay.figures import rates, targets
from fraud_assets.replay.history import release_problems, timeline
from fraud_assets.replay.platform_arm import (
    PRODUCTION,
    LabelQueue,
    platform_environment,
    run_settings,
    write_instance_config,
)

T0 = datetime(2025, 6, 1, tzinfo=UTC)


def test_the_report_lists_every_setting_the_arm_ran_with(tmp_path, monkeypatch) -> None:
    """Production's, the scaled minimums and the caller's own overrides; no path, secret or
    simulated clock."""
    import os

    from fraud_core.settings import Settings

    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias, raising=False)
    monkeypatch.setenv("FRAUD_LABEL_MATURITY_DAYS", "30")  # the caller's experiment
    monkeypatch.setenv("FRAUD_API_KEY", "secret")
    env = platform_environment(tmp_path, None, size_factor=0.16)
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # as the arm's `prepare` does
    monkeypatch.setenv("FRAUD_NOW", T0.isoformat())

    shown = run_settings()
    assert shown["FRAUD_LABEL_MATURITY_DAYS"] == "30"
    assert PRODUCTION.items() <= shown.items()
    assert {"FRAUD_SHADOW_MIN_ROWS", "FRAUD_STAGE_MIN_SAMPLES", "FRAUD_RETRAIN_MIN_LABELS"} <= set(
        shown
    )
    hidden = {"FRAUD_API_KEY", "FRAUD_NOW", "FRAUD_VAR_DIR", "FRAUD_DB_URL", "DAGSTER_HOME"}
    assert not hidden & set(shown) and all(os.environ.get(name) for name in hidden)


def test_replay_instance_keeps_every_run_in_one_event_log(tmp_path, monkeypatch) -> None:
    """The project's settings, but no event log file (and migration check) per run."""
    import dagster as dg

    @dg.asset
    def step() -> None:
        pass

    write_instance_config(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 2
        runs = [dg.materialize([step], instance=instance).run_id for _ in range(2)]
        assert len(instance.get_runs()) == 2
        assert instance.fetch_materializations(dg.AssetKey("step"), limit=5).records
    files = {p.name for p in (tmp_path / "history" / "runs").iterdir()}
    assert "event_log.db" in files and not {f"{run}.db" for run in runs} & files


def test_replay_instance_storages_keep_one_engine_and_stay_plain_dagster_files(
    tmp_path, monkeypatch
) -> None:
    """Runs and events go through one kept engine per storage (no open/checkpoint/close per
    statement), in WAL mode; Dagster's own SQLite storages read the same files afterwards."""
    import sqlite3

    import dagster as dg
    from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
    from dagster._core.storage.runs import SqliteRunStorage

    from fraud_assets.replay.storage import ReplayEventLogStorage, ReplayRunStorage

    @dg.asset
    def step() -> None:
        pass

    write_instance_config(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, ReplayRunStorage)
        assert isinstance(instance.event_log_storage, ReplayEventLogStorage)
        runs = [dg.materialize([step], instance=instance).run_id for _ in range(3)]
        engines = {id(instance.run_storage._kept), id(instance.event_log_storage._kept)}
        dg.materialize([step], instance=instance)
        assert {id(instance.run_storage._kept), id(instance.event_log_storage._kept)} == engines
    history = tmp_path / "history"
    for db in (history / "runs.db", history / "runs" / "event_log.db"):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plain_runs = SqliteRunStorage.from_local(str(history))
    assert set(runs) <= {r.run_id for r in plain_runs.get_runs()}
    plain_events = ConsolidatedSqliteEventLogStorage(str(history / "runs"))
    records = plain_events.fetch_materializations(dg.AssetKey("step"), limit=10).records
    assert len(records) == 4


def test_label_queue_delivers_each_event_once_in_report_order() -> None:
    queue = LabelQueue()
    hours = [5, 1 / 6, 1]
    queue.add(pd.DataFrame({
        "transaction_id": ["b", "a", "c"], "label": ["fraud", "legit", "legit"],
        "source": ["chargeback", "dispute", "ticket_export"],
        "reported_at": [T0 + timedelta(hours=h) for h in hours],
    }))  # fmt: skip
    assert queue.due(T0) == []
    first = queue.due(T0 + timedelta(hours=1))  # [until) : the 01:00 event waits
    assert [e[1] for e in first] == ["a"] and first[0][0] == T0 + timedelta(minutes=10)
    assert [e[1] for e in queue.due(T0 + timedelta(days=1))] == ["c", "b"]
    assert len(queue) == 0 and queue.due(T0 + timedelta(days=9)) == []


def test_rates_are_true_fpr_recall_and_money() -> None:
    blocked = np.array([True, False, True, False])
    fraud = np.array([False, False, True, True])
    usd = np.array([100.0, 50.0, 30.0, 200.0])
    got = rates(blocked, fraud, usd)
    assert got["fpr"] == 0.5 and got["recall"] == 0.5 and got["decline_rate"] == 0.5
    assert got["false_block_usd"] == 0.03 * 100 + 15  # margin + churn (evaluation.Costs)
    assert got["missed_fraud_usd"] == 200.0 and got["cost_usd"] == 218.0


def test_release_problems_name_skipped_steps_and_double_promotions() -> None:
    paths = {
        "1": ["promotion"],  # the bootstrap champion: no release needed
        "2": ["gate passed", "shadow passed", "canary stage", "canary stage", "promotion"],
        "3": ["gate refused"],
        "4": ["gate passed", "canary stage", "promotion"],
        "5": ["gate passed", "shadow passed", "canary stage", "promotion", "promotion"],
    }
    problems = release_problems(paths, first="1")
    assert len(problems) == 2
    assert any(p.startswith("version 4 promoted without") for p in problems)
    assert "version 5 promoted 2 times" in problems


def test_timeline_names_each_stage_a_share_or_the_champion() -> None:
    import dagster as dg

    at = datetime(2025, 7, 1, tzinfo=UTC)
    audit = [
        {"at": at, "action": "release.stage", "subject": "m/3", "reason": "healthy",
         "details": {"percent": 50}},
        {"at": at + timedelta(hours=1), "action": "release.stage", "subject": "m/3",
         "reason": "healthy", "details": {"percent": "champion"}},
    ]  # fmt: skip
    with dg.DagsterInstance.ephemeral() as instance:
        events = timeline(instance, audit)
    assert [e["detail"] for e in events] == ["m/3 to 50%: healthy", "m/3 to champion: healthy"]


def test_targets_report_misses_with_their_figures() -> None:
    from fraud_assets.replay.figures import ArmFigures

    def arm(name: str, fpr: float, recall: float, cost: float, weekly_fpr: list[float]):
        month = {"fpr": fpr, "recall": recall, "cost_usd": cost}
        return ArmFigures(name, pd.DataFrame({"fpr": weekly_fpr}), month, {"cost_usd": cost * 6})

    static = arm("static", 0.13, 0.90, 1000.0, [0.13] * 26)
    platform = arm("platform", 0.05, 0.89, 400.0, [0.13] * 3 + [0.05] * 23)
    checked = {t.name: t for t in targets(static, platform, 20.0, [{"worse": False}])}
    assert checked["static: month-6 FPR >= 12% (the incident happens)"].met
    missed = checked["platform: month-6 true FPR <= 4.8%"]
    assert not missed.met and missed.figure == "5.00%"
    assert not checked["platform: weekly FPR above 12% in at most 2 of the weeks"].met
    assert checked["platform: six-month cost at most half the static arm's"].met


def test_fraudops_replay_keeps_the_incident_and_refuses_platform_options_without_it() -> None:
    from click.testing import CliRunner

    from fraud_core.cli import main

    runner = CliRunner()
    shown = runner.invoke(main, ["replay", "--help"])
    assert shown.exit_code == 0 and "--platform" in shown.output and "--quick" in shown.output
    refused = runner.invoke(main, ["replay", "--quick"])
    assert refused.exit_code == 2 and "--quick and --db-url need --platform" in refused.output
