"""ModelRegistry against a real SQLite-backed MLflow (a copied, migrated DB per test)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fraud_core.features import FEATURE_NAMES, FEATURE_SPEC, FeatureSpec, FeatureSpecMismatch
from fraud_core.registry import (
    BATCH_THREADS,
    ModelRegistry,
    RegistryError,
    UnknownAlias,
    UnknownVersion,
    training_window_hash,
)
from fraud_core.store import FeedbackStore

METRICS = {"fpr": 0.017, "recall": 0.93}
WINDOW = {"start": "2026-01-01", "end": "2026-03-31", "rows": 450_000}


@pytest.fixture
def sqlite_store(tmp_path: Path) -> FeedbackStore:
    with FeedbackStore(f"sqlite:///{tmp_path / 'fraud.db'}") as store:
        yield store


@pytest.fixture
def registry(mlflow_uri: str, mlflow_artifact_root: str, sqlite_store) -> ModelRegistry:
    return ModelRegistry(mlflow_uri, store=sqlite_store, artifact_root=mlflow_artifact_root)


@pytest.fixture
def tiny(train_tiny_model):
    return train_tiny_model()


def _log(registry: ModelRegistry, model, **kwargs):
    kwargs.setdefault("metrics", METRICS)
    return registry.log_model(model, **kwargs)


def _versions(registry: ModelRegistry, model, n: int) -> list[str]:
    return [_log(registry, model, metrics={"fpr": 0.01 * (i + 1)}).version for i in range(n)]


def test_log_model_registers_version_with_metrics_spec_and_window(registry, tiny, tmp_path):
    model, _ = tiny
    info = registry.log_model(
        model,
        metrics=METRICS,
        params={"max_depth": 3},
        tags={"trigger": "drift"},
        training_window=WINDOW,
    )

    assert info.version == "1"
    assert info.metrics == METRICS
    assert info.tags["feature_spec_version"] == FEATURE_SPEC.version
    assert info.tags["training_window_hash"] == training_window_hash(WINDOW)
    assert json.loads(info.tags["training_window"]) == WINDOW
    assert info.tags["run_id"] == info.run_id
    assert info.tags["trigger"] == "drift"
    assert registry.get_version(1) == info

    run = registry.client.get_run(info.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.metrics == METRICS
    assert run.data.params == {"max_depth": "3"}
    experiment = registry.client.get_experiment(run.info.experiment_id)
    assert experiment.name == "fraud-detector"
    assert experiment.artifact_location.startswith((tmp_path / "mlartifacts").as_uri())
    spec = json.loads(
        Path(run.info.artifact_uri.removeprefix("file://"), "feature_spec.json").read_text()
    )
    assert spec == FEATURE_SPEC.to_dict()

    from mlflow.models import Model

    source = registry.client.get_model_version_download_uri("fraud-detector", "1")
    local = Path(source.removeprefix("file://"))
    mlmodel = Model.load(str(local / "MLmodel"))
    assert "xgboost" in mlmodel.flavors
    assert mlmodel.flavors["python_function"]["loader_module"] == "fraud_core.pyfunc_model"
    assert "amount" in mlmodel.signature.inputs.input_names()  # raw transactions
    assert mlmodel.saved_input_example_info is not None
    assert "xgboost-cpu==" in (local / "requirements.txt").read_text()


def test_log_model_states_its_environment_without_warnings(registry, tiny):
    """MLflow warned on every logged model that it could not find pip (uv environments have
    none) when it built conda.yaml itself from pip_requirements."""
    import logging
    import platform

    import yaml

    model, _ = tiny
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    mlflow_log = logging.getLogger("mlflow")
    mlflow_log.addHandler(handler)
    try:
        _log(registry, model)
    finally:
        mlflow_log.removeHandler(handler)

    assert [r.getMessage() for r in records] == []
    source = registry.client.get_model_version_download_uri("fraud-detector", "1")
    conda = yaml.safe_load(Path(source.removeprefix("file://"), "conda.yaml").read_text())
    pins = conda["dependencies"][-1]["pip"]
    assert f"python={platform.python_version()}" in conda["dependencies"]
    assert any(p.startswith("xgboost-cpu==") for p in pins)
    assert any(p.startswith("mlflow==") for p in pins)


def test_log_model_into_an_open_run_leaves_it_open(registry, tiny, mlflow_artifact_root):
    model, _ = tiny
    client = registry.client
    experiment_id = client.create_experiment("dagster-runs", artifact_location=mlflow_artifact_root)
    run_id = client.create_run(experiment_id).info.run_id

    info = _log(registry, model, run_id=run_id)

    assert info.run_id == run_id
    run = client.get_run(run_id)
    assert run.info.status == "RUNNING"
    assert run.data.metrics == METRICS


def test_no_global_mlflow_state_is_touched(registry, tiny, tmp_path, monkeypatch):
    import mlflow

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    before = (mlflow.get_tracking_uri(), mlflow.active_run())
    version = _log(registry, tiny[0]).version
    registry.promote(version, actor="test", reason="test")
    registry.load(version)

    assert (mlflow.get_tracking_uri(), mlflow.active_run()) == before
    assert list(cwd.iterdir()) == []  # e.g. no default ./mlflow.db created behind our back


def test_set_and_read_aliases(registry, tiny):
    v1, v2 = _versions(registry, tiny[0], 2)
    assert registry.aliases() == {}
    assert registry.version_for("champion") is None

    registry.set_alias("champion", v1, actor="alice", reason="first model")
    registry.set_alias("challenger", v2, actor="alice", reason="shadow it")

    assert registry.aliases() == {"champion": v1, "challenger": v2}
    challenger = registry.version_for("challenger")
    assert challenger.version == v2
    assert challenger.aliases == ("challenger",)
    assert challenger.metrics == {"fpr": 0.02}
    move = json.loads(challenger.tags["last_alias_move"])
    assert move["action"] == "alias.set" and move["actor"] == "alice"
    assert move["moves"] == [{"alias": "challenger", "from": None, "to": v2}]

    assert registry.clear_alias("challenger", actor="alice", reason="done") == v2
    assert registry.clear_alias("challenger", actor="alice", reason="done") is None
    assert registry.aliases() == {"champion": v1}


def test_unknown_versions_and_aliases_are_clear_errors(registry, tiny):
    _log(registry, tiny[0])
    with pytest.raises(UnknownVersion, match="no version '7'"):
        registry.get_version("7")
    with pytest.raises(UnknownVersion):
        registry.promote(7, actor="a", reason="r")
    with pytest.raises(UnknownVersion):
        registry.load("abc")
    with pytest.raises(UnknownAlias, match="'production'"):
        registry.version_for("production")
    with pytest.raises(UnknownAlias):
        registry.set_alias("production", 1, actor="a", reason="r")
    with pytest.raises(RegistryError, match="set_canary"):
        registry.set_alias("canary", 1, actor="a", reason="r")


def test_empty_registry_reads(registry):
    assert registry.release_state() == ({}, 0)
    assert registry.aliases() == {}
    assert registry.canary_percent() == 0
    assert registry.rollback(actor="oncall", reason="nothing deployed") is None


def test_canary_percent(registry, tiny):
    v1, v2 = _versions(registry, tiny[0], 2)
    registry.promote(v1, actor="a", reason="r")
    assert registry.canary_percent() == 0

    registry.set_canary(v2, 10, actor="canary_sensor", reason="shadow ok")
    assert registry.aliases()["canary"] == v2
    assert registry.canary_percent() == 10
    calls = []
    read = registry.client.get_registered_model
    registry.client.get_registered_model = lambda name: calls.append(name) or read(name)
    assert registry.release_state() == ({"champion": v1, "canary": v2}, 10)
    assert len(calls) == 1  # aliases and share from one consistent read
    del registry.client.get_registered_model
    registry.set_canary(v2, 25, actor="canary_sensor", reason="healthy")
    assert registry.canary_percent() == 25
    for bad in (0, 101, 12.5, True):
        with pytest.raises(ValueError, match="1..100"):
            registry.set_canary(v2, bad, actor="a", reason="r")

    registry.clear_alias("canary", actor="canary_sensor", reason="unhealthy")
    assert registry.canary_percent() == 0
    assert "canary" not in registry.aliases()


def test_promote_moves_champion_to_previous(registry, tiny):
    v1, v2, v3 = _versions(registry, tiny[0], 3)
    registry.promote(v1, actor="a", reason="r")
    assert registry.aliases() == {"champion": v1}

    registry.set_alias("challenger", v2, actor="a", reason="r")
    registry.promote(v2, actor="a", reason="r")
    assert registry.aliases() == {"champion": v2, "previous": v1}

    registry.set_canary(v3, 50, actor="a", reason="r")
    promoted = registry.promote(v3, actor="a", reason="r")
    assert promoted.aliases == ("champion",)
    assert registry.aliases() == {"champion": v3, "previous": v2}
    assert registry.canary_percent() == 0

    entries = len(registry.store.audit_entries())
    assert registry.promote(v3, actor="a", reason="again").version == v3  # no-op
    assert len(registry.store.audit_entries()) == entries


def test_rollback_restores_previous_and_is_idempotent(registry, tiny):
    v1, v2 = _versions(registry, tiny[0], 2)
    registry.promote(v1, actor="a", reason="r")
    registry.promote(v2, actor="a", reason="r")

    restored = registry.rollback(actor="oncall", reason="FPR alert")

    assert restored.version == v1
    assert registry.aliases() == {"champion": v1}
    move = json.loads(registry.get_version(v2).tags["last_alias_move"])
    assert move["action"] == "rollback"
    assert move["moves"] == [{"alias": "champion", "from": v2, "to": v1}]

    entries = len(registry.store.audit_entries())
    assert registry.rollback(actor="oncall", reason="double click") is None
    assert registry.aliases() == {"champion": v1}
    assert len(registry.store.audit_entries()) == entries


def test_every_alias_move_is_audited(mlflow_uri, mlflow_artifact_root, store, tiny):
    registry = ModelRegistry(mlflow_uri, store=store, artifact_root=mlflow_artifact_root)
    v1 = _log(registry, tiny[0], metrics={"fpr": 0.02}).version
    v2 = _log(registry, tiny[0], metrics={"fpr": 0.01}).version

    registry.promote(v1, actor="alice", reason="initial release", details={"gate": "passed"})
    registry.set_alias("challenger", v2, actor="training", reason="new candidate")
    registry.set_canary(v2, 10, actor="canary_sensor", reason="shadow agreement 99%")
    registry.promote(v2, actor="canary_sensor", reason="canary healthy")
    registry.rollback(actor="bob", reason="FPR spike")
    registry.clear_alias("champion", actor="bob", reason="maintenance")

    entries = list(reversed(store.audit_entries(limit=1000)))
    assert [(e["action"], e["subject"], e["actor"]) for e in entries] == [
        ("promote", f"fraud-detector/{v1}", "alice"),
        ("alias.set", f"fraud-detector/{v2}", "training"),
        ("canary.set", f"fraud-detector/{v2}", "canary_sensor"),
        ("promote", f"fraud-detector/{v2}", "canary_sensor"),
        ("rollback", f"fraud-detector/{v2}", "bob"),
        ("alias.clear", f"fraud-detector/{v1}", "bob"),
    ]
    first, _, canary, promote, rollback, _ = (e["details"] for e in entries)
    assert first["gate"] == "passed" and first["metrics"] == {"fpr": 0.02}
    assert canary["canary_traffic_percent"] == {"from": 0, "to": 10}
    assert promote["metrics"] == {"fpr": 0.01}
    assert promote["moves"] == [
        {"alias": "previous", "from": None, "to": v1},
        {"alias": "champion", "from": v1, "to": v2},
        {"alias": "challenger", "from": v2, "to": None},
        {"alias": "canary", "from": v2, "to": None},
    ]
    assert rollback["restored_version"] == v1
    assert entries[-1]["reason"] == "maintenance"
    tag = json.loads(registry.get_version(v1).tags["last_alias_move"])
    assert tag["audit_id"] == entries[-1]["id"]


def test_alias_moves_need_a_store(mlflow_uri, mlflow_artifact_root, registry, tiny):
    version = _log(registry, tiny[0]).version
    registry.promote(version, actor="a", reason="r")
    read_only = ModelRegistry(mlflow_uri, artifact_root=mlflow_artifact_root)

    assert read_only.aliases() == {"champion": version}
    assert read_only.load(version).version == version
    with pytest.raises(RegistryError, match="needs a FeedbackStore"):
        read_only.clear_alias("champion", actor="a", reason="r")
    with pytest.raises(RegistryError, match="needs a FeedbackStore"):
        read_only.set_alias("previous", version, actor="a", reason="r")
    assert read_only.aliases() == {"champion": version}


def test_load_returns_probabilities_of_the_model(registry, train_tiny_model):
    model, X = train_tiny_model(seed=3)
    version = _log(registry, model.set_params(n_jobs=2)).version
    registry.set_alias("champion", version, actor="a", reason="r")

    loaded = registry.load(registry.aliases()["champion"])

    assert loaded.version == version
    assert loaded.run_id == registry.get_version(version).run_id
    assert loaded.feature_spec == FEATURE_SPEC
    config = json.loads(loaded.booster.save_config())
    assert config["learner"]["generic_param"]["nthread"] == "1"
    expected = model.predict_proba(X)[:, 1]
    assert 0.0 < expected.min() < 0.5 < expected.max() < 1.0
    np.testing.assert_allclose(loaded.predict(X), expected, rtol=1e-6)
    np.testing.assert_allclose(loaded.predict(X[0]), expected[:1], rtol=1e-6)
    batch = registry.load(version, threads=BATCH_THREADS)  # an asset scoring a window
    config = json.loads(batch.booster.save_config())
    assert config["learner"]["generic_param"]["nthread"] == "0"  # every core XGBoost may use
    np.testing.assert_array_equal(batch.predict(X), loaded.predict(X))
    with pytest.raises(ValueError, match=f"{len(FEATURE_NAMES)} features"):
        loaded.predict(X[:, :5])


def test_feature_spec_mismatch_refuses_to_load(registry, train_tiny_model):
    renamed = FeatureSpec(names=(*FEATURE_NAMES[:-1], "amount_zscore"))
    model, _ = train_tiny_model()
    good = _log(registry, model).version
    bad = _log(registry, model, feature_spec=renamed).version
    assert registry.get_version(bad).tags["feature_spec_version"] == renamed.version
    registry.promote(good, actor="a", reason="r")
    registry.promote(bad, actor="a", reason="r")

    with pytest.raises(FeatureSpecMismatch, match="amount_zscore"):
        registry.load(bad)
    assert registry.load(registry.aliases()["previous"]).version == good


def test_rejected_versions_take_no_alias(registry, tiny):
    v1, v2 = _versions(registry, tiny[0], 2)
    registry.promote(v1, actor="a", reason="r")
    registry.mark_rejected(v2, "validation gate: FPR 4.1% > 2%")

    assert registry.is_rejected(v2) and not registry.is_rejected(v1)
    assert registry.get_version(v2).tags["rejected_reason"] == "validation gate: FPR 4.1% > 2%"
    with pytest.raises(RegistryError, match="rejected"):
        registry.promote(v2, actor="a", reason="r")
    with pytest.raises(RegistryError, match="rejected"):
        registry.set_canary(v2, 10, actor="a", reason="r")
    with pytest.raises(RegistryError, match="rejected"):
        registry.set_alias("challenger", v2, actor="a", reason="r")
    assert registry.aliases() == {"champion": v1}
    (entry,) = registry.store.audit_entries(action="reject")
    assert entry["subject"] == f"fraud-detector/{v2}" and entry["actor"] == "validation_gate"


def test_set_version_tags(registry, tiny):
    version = _log(registry, tiny[0]).version
    registry.set_version_tags(version, {"shadow_agreement": 0.991, "gate": "passed"})
    tags = registry.get_version(version).tags
    assert tags["shadow_agreement"] == "0.991" and tags["gate"] == "passed"
    with pytest.raises(UnknownVersion):
        registry.set_version_tags(99, {"x": 1})
