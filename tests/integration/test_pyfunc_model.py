"""`mlflow.pyfunc.load_model("models:/fraud-detector@champion")`: raw transactions in, fraud
probabilities out, with the feature pipeline shipped in the model (real MLflow SQLite registry)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fraud_core.features import featurize_frame
from fraud_core.registry import ModelRegistry

REPO = str(Path(__file__).parents[2])
URI = "models:/fraud-detector@champion"


def _transactions(n: int = 40) -> pd.DataFrame:
    """Raw transactions as payment systems send them (ids included: the model ignores them)."""
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "transaction_id": [f"tx-{i}" for i in range(n)],
            "customer_id": [f"c-{i % 7}" for i in range(n)],
            "event_time": pd.date_range("2026-02-01", periods=n, freq="37min", tz="UTC"),
            "amount": rng.uniform(1, 3000, n).round(2),
            "currency": rng.choice(["EUR", "USD", "GBP"], n),
            "account_age_days": rng.integers(0, 2000, n),
            "payment_method": rng.choice(["card", "digital_wallet", "bank_transfer"], n),
            "wallet_provider": None,
            "card_present": rng.random(n) < 0.3,
            "merchant_category": rng.choice(["electronics", "grocery", "travel"], n),
            "customer_country": rng.choice(["DE", "US", "BR", "NG"], n),
            "merchant_country": rng.choice(["DE", "US", "GB"], n),
            "channel": rng.choice(["online", "in_store", "mobile_app"], n),
            "device_age_days": [None if i % 5 == 0 else float(i) for i in range(n)],
        }
    )


@pytest.fixture
def champion(mlflow_uri, mlflow_artifact_root, store, monkeypatch):
    """A champion trained so that its scores spread over (0, 1); MLflow's default URIs point
    at the test registry (the fluent `models:/` loader reads them)."""
    import xgboost as xgb

    frame = _transactions(400)
    X = featurize_frame(frame)
    y = (frame["amount"] > 1500).to_numpy() ^ (np.arange(len(frame)) % 9 == 0)
    model = xgb.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1).fit(X, y.astype(int))
    registry = ModelRegistry(mlflow_uri, store=store, artifact_root=mlflow_artifact_root)
    info = registry.log_model(model, metrics={"fpr": 0.01})
    registry.promote(info.version, actor="test", reason="pyfunc")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_uri)
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", mlflow_uri)
    return registry, info.version


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pyfunc_gives_probabilities_from_raw_transactions(champion):
    import mlflow.pyfunc

    registry, version = champion
    raw = _transactions()
    scores = mlflow.pyfunc.load_model(URI).predict(raw)

    assert scores.shape == (len(raw),) and scores.dtype == np.float64
    assert ((scores > 0) & (scores < 1)).all() and len(np.unique(scores.round(6))) > 2
    served = registry.load(version).predict(featurize_frame(raw))
    np.testing.assert_allclose(scores, served, rtol=1e-6)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_pyfunc_refuses_bad_input_naming_the_field(champion):
    import mlflow.pyfunc
    from mlflow.exceptions import MlflowException

    model = mlflow.pyfunc.load_model(URI)
    with pytest.raises(MlflowException, match="amount"):
        model.predict(_transactions().drop(columns=["amount"]))
    with pytest.raises(ValueError, match="currency.*XXX"):
        model.predict(_transactions().assign(currency="XXX"))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_logged_environment_pins_the_installed_distributions(champion):
    registry, version = champion
    source = registry.client.get_model_version_download_uri("fraud-detector", version)
    folder = Path(source.removeprefix("file://"))
    pins = dict(line.split("==") for line in (folder / "requirements.txt").read_text().split())

    assert {"mlflow", "xgboost-cpu", "scikit-learn", "numpy", "pandas", "pydantic"} <= set(pins)
    assert "xgboost" not in pins  # the module's distribution here is xgboost-cpu
    assert all(metadata.version(name) == pinned for name, pinned in pins.items())
    assert (folder / "code" / "fraud_core" / "features.py").exists()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_process_without_fraud_core_loads_and_scores(champion, tmp_path):
    registry, version = champion
    raw = _transactions()
    raw.to_parquet(tmp_path / "raw.parquet")
    script = f"""
import sys
sys.path = [p for p in sys.path if p not in ({REPO!r}, '')]
import importlib.util
assert importlib.util.find_spec("fraud_core") is None, "fraud_core must not be importable"
import json, mlflow.pyfunc, pandas as pd
raw = pd.read_parquet("raw.parquet")
scores = mlflow.pyfunc.load_model({URI!r}).predict(raw)
print(json.dumps([float(s) for s in scores]))
"""
    env = {**os.environ, "PYTHONPATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    scores = json.loads(done.stdout.strip().splitlines()[-1])
    served = registry.load(version).predict(featurize_frame(raw))
    np.testing.assert_allclose(scores, served, rtol=1e-6)
