"""`threshold_policy` against a real store (SQLite and PostgreSQL): thresholds learned for each
served model are written as a new policy version of that model and are what
`ThresholdPolicy.from_store` serves it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.dagster_platform import Platform, materialize, platform, run_metadata, seed_log

__all__ = ["platform"]  # the fixture, imported for pytest

CONFIG = {"ops": {"threshold_policy": {"config": {"maturity_days": 20, "window_days": 30}}}}


def test_learned_thresholds_are_served_from_the_store(platform: Platform) -> None:
    from fraud_core.policy import STATIC_VERSION, ThresholdPolicy

    seed_log(platform.store, days=60, per_day=200)
    retraining = platform.retrain()  # the first champion, whose scores the policy cuts
    assert retraining.success
    champion = platform.registry.aliases()["champion"]
    # the retraining run learned the new model's thresholds on its holdout, after the gate
    at_release = run_metadata(retraining, "threshold_policy")
    assert at_release["model_version"] == champion and at_release["written"]
    assert at_release["previous_version"] == STATIC_VERSION
    assert at_release["prior"].startswith("none")
    served_at_release = ThresholdPolicy.from_store(platform.store, champion)
    release_arms = {(a.segment, a.threshold): a.alpha for a in platform.store.load_policy_arms()}
    assert served_at_release.version == at_release["policy_version"]
    assert served_at_release.model_version == champion

    first = materialize(platform, ["threshold_policy"], run_config=CONFIG)
    assert first.success
    meta = run_metadata(first, "threshold_policy")
    assert meta["written"] and meta["previous_version"] == served_at_release.version
    assert meta["prior"] == f"{served_at_release.version}, decayed"
    assert [(m["role"], m["model_version"]) for m in meta["models"]] == [("champion", champion)]
    served = ThresholdPolicy.from_store(platform.store, champion)
    assert served.version == meta["policy_version"] != STATIC_VERSION
    assert dict(served.thresholds) == meta["thresholds"]
    assert served.thresholds  # at least one segment learned
    assert any(t != 0.5 for t in served.thresholds.values())
    # the synthetic log blocks legit customers at 0.5: the learned policy costs less
    assert meta["expected_cost_usd"] < meta["static_expected_cost_usd"]
    table = {row["segment"]: row for row in meta["segments"]}
    assert list(next(iter(table.values())))[:3] == ["segment", "status", "labeled_rows"]
    for segment, threshold in served.thresholds.items():
        assert table[segment]["new_threshold"] == pytest.approx(threshold)
    # what the policy contributes, per top-level segment, on the same matured rows
    contribution = meta["contribution"]
    assert list(contribution[0])[:4] == ["segment", "labeled_rows", "fraud_rows", "policy_fpr"]
    assert contribution[0]["segment"] == "all" and len(contribution) > 1
    assert {row["segment"] for row in contribution[1:]} <= {
        f"{band}|{tenure}"
        for band in ("small", "medium", "large")
        for tenure in ("new", "established")
    }
    assert Path(meta["contribution_plot"]).read_bytes()[:4] == b"\x89PNG"
    png = Path(meta["cost_plot"])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.parent.name == "policy"
    assert png.is_relative_to(platform.folders["reports"])
    audit, _ = platform.store.audit_entries(action="policy.update")
    assert audit["details"]["policy_version"] == served.version
    assert audit["details"]["thresholds"] == meta["thresholds"]
    assert (audit["details"]["model_version"], audit["details"]["role"]) == (champion, "champion")

    arms = {(a.segment, a.threshold): a for a in platform.store.load_policy_arms()}
    second = materialize(platform, ["threshold_policy"], run_config=CONFIG)
    assert second.success
    again = run_metadata(second, "threshold_policy")
    assert again["previous_version"] == served.version != again["policy_version"]
    now_served = ThresholdPolicy.from_store(platform.store, champion)
    assert now_served.version == again["policy_version"]
    assert dict(now_served.thresholds) == again["thresholds"]
    for arm in platform.store.load_policy_arms():  # same evidence again on a decayed prior
        old = arms[(arm.segment, arm.threshold)].alpha - 1
        evidence = old - 0.5 * (release_arms.get((arm.segment, arm.threshold), 1.0) - 1)
        assert arm.alpha - 1 == pytest.approx(0.5 * old + evidence, rel=1e-6)


def test_too_little_data_writes_nothing(platform: Platform) -> None:
    from fraud_core.policy import ThresholdPolicy

    # a champion trained on an older history; the policy's window holds five payments a day
    seed_log(platform.store, days=60, per_day=200, end=datetime(2026, 4, 12, tzinfo=UTC))
    assert platform.retrain().success
    champion = platform.registry.aliases()["champion"]
    before = ThresholdPolicy.from_store(platform.store, champion)
    arms = platform.store.load_policy_arms()
    seed_log(platform.store, days=50, per_day=5, seed=1)
    result = materialize(platform, ["threshold_policy"], run_config=CONFIG)
    assert result.success
    meta = run_metadata(result, "threshold_policy")
    assert not meta["written"] and meta["policy_version"] == before.version
    assert "nothing written" in meta["summary"]
    assert platform.store.load_policy_arms() == arms
    assert ThresholdPolicy.from_store(platform.store, champion) == before
    assert Path(meta["cost_plot"]).exists()


def test_daily_schedule_runs_the_policy_job_in_process() -> None:
    import dagster as dg

    from fraud_assets.definitions import defs

    definitions = defs()
    schedule = definitions.resolve_schedule_def("threshold_policy_daily")
    assert schedule.cron_schedule == "0 3 * * *" and schedule.job_name == "threshold_policy_update"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = definitions.resolve_job_def("threshold_policy_update")
    assert job.executor_def is dg.in_process_executor
    assert [k.to_user_string() for k in job.asset_layer.executable_asset_keys] == [
        "threshold_policy"
    ]
    (request,) = schedule.evaluate_tick(dg.build_schedule_context()).run_requests
    assert "threshold policy" in request.tags["fraud/reason"]


def test_thresholds_are_cut_on_the_champions_scores(platform: Platform) -> None:
    """The matured rows were scored by whatever served them then (here: a model whose scores
    say nothing); the policy scores them again with the champion and learns on those."""
    from sqlalchemy import update

    from fraud_core.store.models import predictions

    seed_log(platform.store, days=60, per_day=200)
    with platform.store.engine.begin() as conn:
        conn.execute(update(predictions).values(score=0.01))
    assert platform.retrain().success
    champion = platform.registry.aliases()["champion"]
    result = materialize(platform, ["threshold_policy"], run_config=CONFIG)
    assert result.success
    meta = run_metadata(result, "threshold_policy")
    assert meta["model_version"] == champion and meta["written"]
    # on the logged scores every threshold approves everything: no arm could beat the static
    assert meta["expected_cost_usd"] < meta["static_expected_cost_usd"]
    audit = platform.store.audit_entries(action="policy.update", limit=1)[0]
    assert audit["details"]["model_version"] == champion
    assert f"champion v{champion}" in audit["reason"]


def test_a_champion_learns_from_its_own_labels_45_days_old(platform: Platform) -> None:
    """By default labels count once training would use them (`FRAUD_LABEL_MATURITY_DAYS`, 45
    days), not after the 120 days that make an outcome final: a champion trained on payments up
    to 70 days ago (then shadowed and released) learns from the 25 days after its training data,
    their reported frauds weighted by the report delays of frauds older than 120 days."""
    import json
    from datetime import timedelta

    from fraud_core.policy import ThresholdPolicy
    from tests.fixtures.prediction_log import END

    seed_log(platform.store, days=160, per_day=100)
    assert platform.retrain().success
    champion = platform.registry.aliases()["champion"]
    window = json.loads(platform.registry.get_version(champion).tags["training_window"])
    window["holdout_start"] = (END - timedelta(days=70)).isoformat()
    platform.registry.set_version_tags(champion, {"training_window": json.dumps(window)})

    result = materialize(platform, ["threshold_policy"])
    assert result.success
    meta = run_metadata(result, "threshold_policy")
    assert meta["maturity_days"] == 45 and meta["model_version"] == champion
    assert meta["window"].startswith(f"[{END - timedelta(days=70):%Y-%m-%d}")
    assert meta["written"] and meta["labeled_rows"] > 1000
    delay = meta["report_delay"]  # the fixture's chargebacks come 3 to 40 days late
    assert delay["reference_frauds"] >= 30 and 15 < delay["median_days"] < 28
    served = ThresholdPolicy.from_store(platform.store, champion)
    assert served.version == meta["policy_version"] and served.model_version == champion
    audit = platform.store.audit_entries(action="policy.update", limit=1)[0]
    assert audit["details"]["report_delay"] == delay and audit["details"]["maturity_days"] == 45


def test_each_served_model_learns_its_own_thresholds(platform: Platform) -> None:
    """The shadowed challenger is decided at thresholds cut on its own scores, from its holdout
    on (rows it was not fitted on); a model with none of those matured serves 0.5, and another
    model's thresholds are never served to it."""
    import json

    from fraud_core.policy import STATIC_VERSION, ThresholdPolicy, served_policies

    seed_log(platform.store, days=60, per_day=200)
    assert platform.retrain().success
    champion = platform.registry.aliases()["champion"]
    platform.retrain(recipe={"n_estimators": 20})  # whatever the gate says of it
    successor = platform.metadata("trained_model")["model_version"]
    info = platform.registry.get_version(successor)
    window = json.loads(info.tags["training_window"])
    unseen = {**window, "holdout_start": "2026-06-01T00:00:00+00:00"}  # after every label
    tags = {"training_window": json.dumps(unseen), "rejected": "false"}
    platform.registry.set_version_tags(successor, tags)
    platform.registry.set_alias("challenger", successor, actor="test", reason="shadow it")

    result = materialize(platform, ["threshold_policy"], run_config=CONFIG)
    assert result.success
    models = {m["role"]: m for m in run_metadata(result, "threshold_policy")["models"]}
    assert models["champion"]["model_version"] == champion and models["champion"]["written"]
    assert models["challenger"]["model_version"] == successor
    assert not models["challenger"]["written"] and models["challenger"]["labeled_rows"] == 0
    served = served_policies(platform.store, [champion, successor])
    assert served[champion].version == models["champion"]["policy_version"]
    assert served[successor].version == STATIC_VERSION
    assert {served[successor].threshold(s) for s in served[champion].thresholds} == {0.5}

    platform.registry.set_version_tags(successor, {"training_window": json.dumps(window)})
    result = materialize(platform, ["threshold_policy"], run_config=CONFIG)
    assert result.success
    models = {m["role"]: m for m in run_metadata(result, "threshold_policy")["models"]}
    assert models["challenger"]["written"] and models["challenger"]["labeled_rows"] > 1000
    own = ThresholdPolicy.from_store(platform.store, successor)
    assert own.version == models["challenger"]["policy_version"] != STATIC_VERSION
    assert own.model_version == successor
    assert own.version != ThresholdPolicy.from_store(platform.store, champion).version
    audit = platform.store.audit_entries(subject=f"policy/{own.version}")[0]
    assert (audit["details"]["model_version"], audit["details"]["role"]) == (
        successor,
        "challenger",
    )


def test_retraining_learns_the_new_models_thresholds_after_the_gate() -> None:
    from fraud_assets.definitions import defs

    job = defs().resolve_job_def("retraining")
    graph = job.asset_layer.asset_graph
    keys = [k.to_user_string() for k in job.asset_layer.executable_asset_keys]
    assert "threshold_policy" in keys
    assert {k.to_user_string() for k in graph.get(_key("threshold_policy")).parent_keys} >= {
        "challenger_model"
    }


def _key(name: str):
    import dagster as dg

    return dg.AssetKey(name)


def test_policy_versions_fit_their_column_and_name_their_model() -> None:
    from fraud_assets.defs.policy.threshold_policy import policy_version
    from fraud_core.store.models import PolicyArm

    now = datetime(2026, 12, 7, 3, 0, 59, tzinfo=UTC)
    versions = {policy_version(now, "0123456789abcdef", str(v)) for v in (1000000, 1000001)}
    assert len(versions) == 2
    width = PolicyArm.__table__.c.policy_version.type.length
    assert all(len(v) <= width and v.startswith("ts-20261207T0300-012345-v") for v in versions)
