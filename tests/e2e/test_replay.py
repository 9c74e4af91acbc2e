"""End to end: the platform lives through the case study's six drift months (`--quick` size)
beside the static model and the oracle, on one real Dagster instance; the directions of the
replay issue hold and every release went gate -> shadow -> canary -> promotion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick replay (seed 0) shared by the tests of this module."""
    import mlflow

    from fraud_assets.replay.run import replay_platform
    from fraud_assets.replay.world import ReplaySize

    folder = tmp_path_factory.mktemp("replay")
    saved = dict(os.environ)  # the replay points the environment at its own platform
    try:
        yield replay_platform(
            0, ReplaySize.quick(), folder / "state", folder / "report", show_progress=False
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
        mlflow.set_tracking_uri(None)


def test_quick_replay_static_degrades_platform_recovers(replayed: dict) -> None:
    arms = replayed["arms"]
    static, platform, oracle = (arms[a]["month_6"] for a in ("static", "platform", "oracle"))
    print(json.dumps({a: arms[a]["month_6"] for a in arms}, indent=1))
    assert static["fpr"] >= 0.10, "the incident must happen to the static model"
    assert platform["fpr"] <= static["fpr"] / 2, "the platform must recover"
    assert oracle["fpr"] <= platform["fpr"] + 0.05
    assert arms["platform"]["total"]["cost_usd"] < arms["static"]["total"]["cost_usd"]
    assert replayed["first_alarm_days"] is not None

    paths = replayed["release_paths"]
    promoted = [v for v, path in paths.items() if "promotion" in path]
    assert len(promoted) >= 2, paths  # the first champion and at least one release
    assert not replayed["release_problems"], replayed["release_problems"]
    for version, path in paths.items():
        if "shadow passed" in path or "canary stage" in path:
            assert path.index("gate passed") < path.index("shadow passed"), (version, path)
        if "gate refused" in path:
            assert "shadow passed" not in path and "promotion" not in path, (version, path)

    report = Path(replayed["report"])
    saved = json.loads((report.parent / "replay.json").read_text())
    assert set(saved["arms"]) == {"static", "platform", "oracle"}
    assert len(saved["arms"]["platform"]["weekly"]) == 26
    assert (report.parent / "replay-weekly.png").stat().st_size > 10_000
    assert "data:image/png;base64," in report.read_text()


def test_quick_replay_runs_are_in_the_instance_with_their_triggers(replayed: dict) -> None:
    import dagster as dg

    home = Path(replayed["dagster_home"])
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        jobs = {run.job_name for run in runs}
        assert {"ingestion", "monitoring", "retraining", "threshold_policy_update"} <= jobs
        assert {"release_start", "canary_stage", "promotion"} <= jobs
        sensor_runs = [r for r in runs if r.tags.get("dagster/sensor_name")]
        assert sensor_runs and all(r.tags.get("dagster/run_key") for r in sensor_runs)
        assert all(r.tags.get("fraud/simulated_now") for r in runs if r.job_name != "retraining"
                   or r.tags.get("fraud/trigger") != "bootstrap")  # fmt: skip
        drift = instance.fetch_materializations(dg.AssetKey("drift_report"), limit=1).records
        assert drift
