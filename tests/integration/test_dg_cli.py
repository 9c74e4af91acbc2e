"""`dg` (dagster-dg-cli) works on the project's `[tool.dg]` settings: it finds the code
location, checks it and lists its definitions."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DG = shutil.which("dg", path=str(Path(sys.executable).parent)) or "dg"


def _dg(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    return subprocess.run(
        [DG, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_dg_checks_and_lists_the_definitions(tmp_path: Path) -> None:
    check = _dg(tmp_path, "check", "defs")
    assert check.returncode == 0, check.stderr[-3000:]
    listed = _dg(tmp_path, "list", "defs", "--json")
    assert listed.returncode == 0, listed.stderr[-3000:]
    defs = json.loads(listed.stdout)
    assets = {a["asset_key"] for a in defs["assets"]}
    assert {"raw_predictions", "trained_model", "validation_gate", "promoted_model"} <= assets
    assert {s["name"] for s in defs["sensors"]} >= {"drift_sensor", "label_volume_sensor"}
    assert "retraining" in {j["name"] for j in defs["jobs"]}
