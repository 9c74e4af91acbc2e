"""End to end: the platform lives through drift months beside the static model and the oracle,
on one real Dagster instance: labels arrive by both paths, schedules and sensors launch their
runs with their triggers, every release goes gate -> shadow -> canary -> promotion, and the
report is written.

CI affords three drift weeks (the case study's ramp compressed into them, 400 payments a day);
`fraudops replay --platform [--quick]` runs the six months (README: figures and time)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One three-week replay (seed 0) shared by the tests of this module."""
    import mlflow

    from fraud_assets.replay.run import replay_platform
    from fraud_assets.replay.world import ReplaySize

    size = ReplaySize(tx_per_day=400, pre_drift_days=120, drift_days=21)

    folder = tmp_path_factory.mktemp("replay")
    saved = dict(os.environ)  # the replay points the environment at its own platform
    try:
        yield replay_platform(0, size, folder / "state", folder / "report", show_progress=False)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        mlflow.set_tracking_uri(None)


def test_replay_measures_three_arms_on_the_same_world(replayed: dict) -> None:
    arms = replayed["arms"]
    print(json.dumps({a: arms[a]["total"] for a in arms}, indent=1))
    for name in ("static", "platform", "oracle"):
        weekly = arms[name]["weekly"]
        assert len(weekly) == 3 and sum(w["payments"] for w in weekly) == 21 * 400
    static = [w["fpr"] for w in arms["static"]["weekly"]]
    assert static[-1] > static[0], "the drift must reach the static model"
    assert arms["oracle"]["total"]["cost_usd"] < arms["static"]["total"]["cost_usd"]
    assert replayed["first_alarm_days"] is not None, "monitoring must flag the drift"
    delivered = replayed["labels_delivered"]
    assert delivered["dispute"] and delivered["ticket_export"]  # /feedback and landing files

    report = Path(replayed["report"])
    saved = json.loads((report.parent / "replay.json").read_text())
    assert set(saved["arms"]) == {"static", "platform", "oracle"}
    assert {t["target"] for t in saved["targets"]} and saved["timeline"]
    assert (report.parent / "replay-weekly.png").stat().st_size > 10_000
    assert "data:image/png;base64," in report.read_text()


def test_every_release_goes_through_gate_shadow_and_canary(replayed: dict) -> None:
    paths = replayed["release_paths"]
    print(json.dumps(paths, indent=1))
    assert paths[replayed["first_champion"]] == ["promotion"]
    assert any("gate passed" in p or "gate refused" in p for p in paths.values()), paths
    assert not replayed["release_problems"], replayed["release_problems"]
    for version, path in paths.items():
        if "gate refused" in path:
            assert "shadow passed" not in path and "promotion" not in path, (version, path)
        if "shadow passed" in path:
            assert path.index("gate passed") < path.index("shadow passed"), (version, path)


def test_runs_are_in_the_instance_with_their_triggers(
    replayed: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `dagster dev` shows on the replay's DAGSTER_HOME."""
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", replayed["dagster_home"])
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        jobs = {run.job_name for run in runs}
        assert {"ingestion", "monitoring", "retraining", "threshold_policy_update"} <= jobs
        scheduled = [r for r in runs if r.tags.get("dagster/schedule_name")]
        sensed = [r for r in runs if r.tags.get("dagster/sensor_name")]
        assert scheduled and all(r.tags.get("fraud/simulated_now") for r in scheduled + sensed)
        assert all(r.tags.get("dagster/run_key") for r in sensed)
        retrainings = [r for r in runs if r.job_name == "retraining"]
        assert any(r.tags.get("fraud/reason") for r in retrainings if r in scheduled + sensed)
        assert instance.fetch_materializations(dg.AssetKey("drift_report"), limit=1).records
