"""End to end: the platform lives through drift months beside the static model and the oracle,
on one real Dagster instance: labels arrive by both paths, schedules and sensors launch their
runs with their triggers, every release goes gate -> shadow -> canary -> promotion, and the
report is written.

CI affords three drift weeks (the case study's ramp compressed into them) at the --quick size of
800 payments a day (at 400 the gate's holdout holds a dozen frauds); `fraudops replay
--platform [--quick]` runs the six months (README: figures and time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
REPLAY = """
import json, sys
from pathlib import Path
from fraud_assets.replay.run import replay_platform
from fraud_assets.replay.world import ReplaySize
size = ReplaySize(tx_per_day=800, pre_drift_days=120, drift_days=21)
state, report, out = map(Path, sys.argv[1:])
summary = replay_platform(0, size, state, report, show_progress=False)
out.write_text(json.dumps(summary, default=str))
"""


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One three-week replay (seed 0) shared by the tests of this module, in its own process
    as `fraudops replay` runs: the definitions load with the replay's settings, whatever
    earlier tests of this process loaded."""
    folder = tmp_path_factory.mktemp("replay")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_"))}
    env.pop("DAGSTER_HOME", None)
    out = folder / "summary.json"
    args = [str(folder / "state"), str(folder / "report"), str(out)]
    done = subprocess.run(
        [sys.executable, "-c", REPLAY, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(out.read_text())


def test_replay_measures_three_arms_on_the_same_world(replayed: dict) -> None:
    arms = replayed["arms"]
    print(json.dumps({a: arms[a]["total"] for a in arms}, indent=1))
    payments = {name: [w["payments"] for w in arms[name]["weekly"]] for name in arms}
    assert payments["static"] == payments["platform"] == payments["oracle"]  # the same world
    assert len(payments["static"]) == 3
    assert sum(payments["static"]) == pytest.approx(21 * 800, rel=0.01)  # drawn, not fixed
    static = [w["fpr"] for w in arms["static"]["weekly"]]
    assert static[-1] > static[0], "the drift must reach the static model"
    # knowing every true outcome, the oracle catches more fraud (in three weeks, at a higher
    # FPR: its six-month advantage in cost is for the full replay to show)
    assert arms["oracle"]["total"]["recall"] > arms["static"]["total"]["recall"]
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
    assert paths[replayed["first_champion"]] == ["gate passed", "promotion"]
    assert any("gate passed" in p or "gate refused" in p for p in paths.values()), paths
    # within three weeks the drift is flagged and a retrained model reaches the canary
    assert any("canary stage" in p for p in paths.values()), paths
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


REFUSED = """
import sys
from fraud_assets.replay import world
from fraud_core.cli import main
# 20 pre-drift days: no label has matured (45 days), so no first champion can be trained
size = world.ReplaySize(tx_per_day=500, pre_drift_days=20, drift_days=2)
world.ReplaySize.quick = classmethod(lambda cls: size)
sys.argv = "fraudops replay --platform --quick --seed 3 --seed 4 --no-progress".split()
main()
"""


def test_a_seed_without_a_first_champion_is_reported_and_the_others_still_run(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FRAUD_", "MLFLOW_"))}
    env.pop("DAGSTER_HOME", None)
    env["FRAUD_VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run(
        [sys.executable, "-c", REFUSED], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr[-3000:]
    for seed in (3, 4):
        assert f"seed {seed}: retraining run" in done.stderr
    assert "only 0 labeled predictions" in done.stderr
    assert "Error: no first champion for seed(s) [3, 4]" in done.stderr
    assert "Traceback" not in done.stderr
    assert "DEBUG" not in done.stdout + done.stderr  # the run's event stream went to its log
    assert (tmp_path / "var/replay/seed-4-quick/first_champion.log").stat().st_size > 0


def test_the_recall_gap_is_decomposed_on_the_replays_own_store(replayed: dict) -> None:
    """From the oracle's information to the platform's decisions: the decisions' figures are
    the report's month 6 (same store, same world), exploration's approvals only lower recall."""
    from fraud_assets.replay.recall_gap import recall_gap

    gap = recall_gap(Path(replayed["report"]).parent)
    platform = replayed["arms"]["platform"]["month_6"]
    decisions, unexplored = gap["operating_point"][:2]
    assert gap["month"]["payments"] == platform["payments"]
    for figure in ("fpr", "recall", "cost_usd"):
        assert decisions[figure] == pytest.approx(platform[figure])
    assert unexplored["recall"] >= decisions["recall"]
    steps = gap["ranking"]
    assert [s["step"].split(":")[0] for s in steps] == [
        "oracle", "+ lag", "+ selection", "+ labels reported by then", "served models' scores"
    ]  # fmt: skip
    oracle, lag, selection, reported = (s["frauds"] for s in steps[:4])
    assert oracle > lag > selection >= reported > 0  # each constraint hides fraud
    assert all(0 <= s[f"recall_at_fpr_{f:g}"] <= 1 for s in steps for f in (0.005, 0.01, 0.02))
