"""`fraud_core.settings` is the one place the environment is read, and the README's
configuration table is generated from it."""

import ast
import re
from pathlib import Path

import pytest

from fraud_core.settings import Settings, get_settings, markdown_table

ROOT = Path(__file__).resolve().parents[2]
WRITERS = {
    "fraud_assets/profile.py": "applies a settings profile: sets variables, restores them after",
}
"""Modules that touch `os.environ` for another reason than reading a setting."""


def _environment_reads(path: Path) -> list[str]:
    """`os.environ.get(...)`, `os.getenv(...)`, `os.environ[...]` read, `... in os.environ`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        text = ast.unparse(node)
        if (
            isinstance(node, ast.Call)
            and re.match(r"os\.(environ\.get|getenv)\(", text)
            or (
                isinstance(node, ast.Subscript)
                and isinstance(node.ctx, ast.Load)
                and ast.unparse(node.value) == "os.environ"
            )
            or isinstance(node, ast.Compare)
            and "in os.environ" in text
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    return found


def test_only_the_settings_module_reads_the_environment() -> None:
    reads = [
        read
        for package in ("fraud_core", "fraud_assets", "fraud_serving")
        for path in sorted((ROOT / package).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in {"fraud_core/settings.py", *WRITERS}
        for read in _environment_reads(path)
    ]
    assert not reads, reads


def test_readme_configuration_table_is_generated_from_the_model() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, (
        "README's configuration table differs from fraud_core.settings: "
        "paste the output of `uv run python -m fraud_core.settings`"
    )


def test_every_variable_has_a_doc_and_a_fraud_or_tool_name() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, name
        assert re.fullmatch(r"(FRAUD|MLFLOW|DAGSTER)_[A-Z0-9_]+", field.alias), name


def test_defaults_follow_the_state_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for field in Settings.model_fields.values():
        monkeypatch.delenv(field.alias, raising=False)
    monkeypatch.setenv("FRAUD_VAR_DIR", str(tmp_path))
    settings = get_settings()
    assert settings.db_url == f"sqlite:///{tmp_path / 'fraud.db'}"
    assert settings.lake_url == str(tmp_path / "lake")
    assert settings.landing_dir == tmp_path / "landing" / "labels"
    assert settings.model_fields_set == {"var_dir"}
    monkeypatch.setenv("FRAUD_DB_URL", "postgresql://u@h/db")
    assert get_settings().db_url == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("variable", "value", "why"),
    [
        ("FRAUD_TRAINING_DAYS", "ninety", "is not a whole number"),
        ("FRAUD_TRAINING_DAYS", "0", "must be at least 1"),
        ("FRAUD_EXPLORATION_RATE", "2", "must be at most 1"),
        ("FRAUD_ONLINE_RETENTION_DAYS", "3", "at least 7"),
        ("FRAUD_NOW", "yesterday", "is not an ISO instant"),
        ("FRAUD_ACCESS_LOG", "maybe", "must be 1 or 0"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, why: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=f"{variable}='{value}': .*{why}"):
        get_settings()


def test_a_blank_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_TRAINING_DAYS", "  ")
    assert get_settings().training_days == 90


def test_the_console_names_a_bad_variable_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fraud_core.cli import main

    monkeypatch.setenv("FRAUD_SCORER_PORT", "99999")
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: configuration: FRAUD_SCORER_PORT='99999': must be at most 65535"
    )


def test_the_clock_follows_fraud_now(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from fraud_core import clock

    monkeypatch.setenv("FRAUD_NOW", "2025-06-01T12:00:00")  # naive means UTC
    assert clock.now() == datetime(2025, 6, 1, 12, tzinfo=UTC)
    monkeypatch.setenv("FRAUD_NOW", "2025-06-01T14:00:00+02:00")
    assert clock.now() == datetime(2025, 6, 1, 12, tzinfo=UTC)
    monkeypatch.setenv("FRAUD_NOW", "soon")
    with pytest.raises(ValueError, match="FRAUD_NOW='soon'"):
        clock.now()
    monkeypatch.delenv("FRAUD_NOW")
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 60


ENTRY_POINTS = {
    "fraud_assets/defs": "the code location's definitions, imported as it loads "
    "(the dg component tree built in the lazy `@dg.definitions` of fraud_assets/definitions.py)",
    "fraud_serving/service.py": "the BentoML service, imported by `bentoml serve` as it starts: "
    "its options (workers, logging) are arguments of the class decorator",
    "fraud_core/store/migrations": "Alembic's environment and revisions, run by Alembic",
}
_IMPORT_ALL = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except Exception as error:
        failed.append(f"{name}: {type(error).__name__}: {error}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def _library_modules() -> list[str]:
    modules = []
    for package in ("fraud_core", "fraud_assets", "fraud_serving"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            if any(relative.startswith(entry) for entry in ENTRY_POINTS):
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_no_module_reads_a_setting_at_import(tmp_path: Path) -> None:
    """Every module outside the entry points imports with every variable set to nonsense: a
    setting is read when a function asks for it, not when a module is imported."""
    import os
    import subprocess
    import sys

    broken = {field.alias: "not a value" for field in Settings.model_fields.values()}
    env = {**os.environ, **broken, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, *_library_modules()],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


def test_a_bad_history_start_fails_the_definitions_naming_it(tmp_path: Path) -> None:
    """The entry point reads the settings as the code location loads, and says which is wrong."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "FRAUD_HISTORY_START": "soon", "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", "from fraud_assets.definitions import defs; defs()"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "FRAUD_HISTORY_START" in result.stderr
