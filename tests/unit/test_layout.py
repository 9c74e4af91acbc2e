"""Dependency direction of docs/architecture.md (section 2): fraud_core imports nothing above
it; Dagster code uses the scorer only in the replay."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "fraud_core": ("dagster", "dagster_mlflow", "bentoml", "fraud_assets", "fraud_serving"),
    "fraud_serving": ("dagster", "fraud_assets"),
}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_nothing_above_it(package):
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in FORBIDDEN[package]
    }
    assert not offenders, sorted(offenders)


def test_only_the_replay_drives_the_scorer_from_dagster_code():
    """`fraud_assets -> fraud_serving` only for the replay's in-process scorer."""
    offenders = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "fraud_assets").rglob("*.py")
        if "replay" not in path.relative_to(ROOT / "fraud_assets").parts
        and any(name.split(".")[0] == "fraud_serving" for name in imported_modules(path))
    }
    assert not offenders, sorted(offenders)
