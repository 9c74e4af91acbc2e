"""Dependency direction of docs/architecture.md (section 2): fraud_core imports nothing above
it; Dagster code uses the scorer only in the replay."""

import ast
import re
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


def _sources(*packages: str):
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield str(path.relative_to(ROOT)), path


SQL_HARNESSES = {
    "fraud_assets/replay/platform_arm.py": "the replay empties and reads back the store it drives",
    "fraud_assets/live/history.py": "the demo reads the seeded range of the store it drives",
    "fraud_assets/replay/storage.py": "the replay's Dagster instance storage keeps its SQLite "
    "connections open (Dagster's tables and queries, not the feedback store)",
}


def test_sql_lives_in_the_store():
    """Queries are written in `fraud_core/store/` only (docs/architecture.md, section 6)."""
    offenders = {
        f"{name}: {module}"
        for name, path in _sources("fraud_core", "fraud_assets", "fraud_serving")
        if not name.startswith("fraud_core/store/") and name not in SQL_HARNESSES
        for module in imported_modules(path)
        if module.split(".")[0] == "sqlalchemy"
        and module not in ("sqlalchemy.engine", "sqlalchemy.exc")  # URL parsing, errors
    }
    offenders |= {
        name
        for name, path in _sources("fraud_core", "fraud_assets", "fraud_serving")
        if not name.startswith("fraud_core/store/")
        and name not in SQL_HARNESSES
        and re.search(r"\.engine\.(connect|begin)\(", path.read_text())
    }
    assert not offenders, sorted(offenders)


def test_mlflow_is_reached_through_the_registry():
    """MLflow writes and reads go through `fraud_core/registry/` (and dagster-mlflow's
    resource in `fraud_assets/tracking.py`); assets never touch the registry's client."""
    allowed = {"fraud_core/pyfunc_model.py", "fraud_assets/tracking.py"}
    offenders = {
        f"{name}: {module}"
        for name, path in _sources("fraud_core", "fraud_assets", "fraud_serving")
        if name not in allowed and not name.startswith("fraud_core/registry/")
        for module in imported_modules(path)
        if module.split(".")[0] in ("mlflow", "dagster_mlflow")
    }
    offenders |= {
        name
        for name, path in _sources("fraud_assets")
        if re.search(r"\b(facade|registry)\.(client|store)\b", path.read_text())
    }
    assert not offenders, sorted(offenders)


MATERIALIZATION_READS = {
    "latest_metadata",
    "latest_record",
    "fetch_materializations",
    "get_latest_materialization_event",
    "get_latest_materialization_events",
    "asset_materialization",
}
"""Ways to read what an asset recorded in the Dagster instance."""


def _defines_assets(tree: ast.Module) -> bool:
    return any(
        re.match(r"(dg\.)?(asset|multi_asset|asset_check)\b", ast.unparse(decorator))
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
        for decorator in node.decorator_list
    )


def test_assets_take_upstream_values_as_parameters():
    """Assets and checks receive what another asset hands them as a typed parameter (through
    `fraud_assets/handoffs.py`'s IO manager), never from materialization metadata: metadata is
    for people (docs/architecture.md, section 5: hand-offs)."""
    offenders = set()
    for name, path in _sources("fraud_assets/defs"):
        tree = ast.parse(path.read_text(), filename=name)
        if not _defines_assets(tree):
            continue
        offenders |= {
            f"{name}:{node.lineno}: {ast.unparse(node)}"
            for node in ast.walk(tree)
            if (isinstance(node, ast.Name) and node.id in MATERIALIZATION_READS)
            or (isinstance(node, ast.Attribute) and node.attr in MATERIALIZATION_READS)
        }
    assert not offenders, sorted(offenders)


def test_rendering_lives_in_the_reports():
    """PNG and HTML are drawn and written in `fraud_core/reports/` only; the modules beside it
    compute the figures."""
    offenders = {
        f"{name}: {module}"
        for name, path in _sources("fraud_core", "fraud_assets", "fraud_serving")
        if not name.startswith("fraud_core/reports/")
        for module in imported_modules(path)
        if module.split(".")[0] in ("matplotlib", "html", "base64")
    }
    offenders |= {
        f"{name}: {found.group()}"
        for name, path in _sources("fraud_core", "fraud_assets", "fraud_serving")
        if not name.startswith("fraud_core/reports/")
        for found in re.finditer(
            r"\.(savefig|save_html)\(|<(html|table|img|h1)\b|data:image/", path.read_text()
        )
    }
    assert not offenders, sorted(offenders)
