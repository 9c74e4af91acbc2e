"""`bentoml build` packages the scorer from bentofile.yaml (into a private BENTOML_HOME)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures.scorer import REPO

pytestmark = pytest.mark.slow


def test_bentoml_build(tmp_path: Path) -> None:
    env = {**os.environ, "BENTOML_HOME": str(tmp_path), "BENTOML_DO_NOT_TRACK": "true"}
    done = subprocess.run(
        [sys.executable, "-m", "bentoml", "build", "-o", "tag"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (bento,) = [p for p in (tmp_path / "bentos" / "fraud-scorer").iterdir() if p.name != "latest"]
    manifest = yaml.safe_load((bento / "bento.yaml").read_text())
    assert manifest["service"] == "fraud_serving.service:FraudScorer"
    assert {e["name"] for e in manifest["envs"]} >= {"BENTOML_DO_NOT_TRACK"}
    src = bento / "src"
    for module in ("fraud_serving/service.py", "fraud_core/features.py", "fraud_core/store/db.py"):
        assert (src / module).is_file(), module
    assert list((src / "fraud_core/store/migrations/versions").glob("*.py"))
    assert not list(src.glob("fraud_assets/**/*.py")), "the scorer never ships fraud_assets"
    requirements = (bento / "env/python/requirements.txt").read_text()
    assert "bentoml==1.4.40" in requirements and "xgboost-cpu==" in requirements
