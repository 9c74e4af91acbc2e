"""The scorer's settings from the environment: documented defaults, refused nonsense."""

from pathlib import Path

import pytest

from fraud_core.settings import get_settings

KNOBS = (
    "FRAUD_REGISTRY_POLL_SECONDS", "FRAUD_EXPLORATION_RATE", "FRAUD_EXPLORATION_MAX_AMOUNT_USD",
    "FRAUD_CANARY_SALT", "FRAUD_LOG_BATCH_SIZE", "FRAUD_LOG_FLUSH_SECONDS",
    "FRAUD_LOG_RETRY_SECONDS", "FRAUD_SPOOL_DIR", "FRAUD_SCORER_WORKERS", "FRAUD_MAX_BODY_BYTES",
    "FRAUD_ACCESS_LOG", "FRAUD_TRACE_SCORING", "FRAUD_WAL_DIR", "FRAUD_WAL_FSYNC_SECONDS",
)  # fmt: skip


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in KNOBS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FRAUD_VAR_DIR", str(tmp_path))


def test_defaults(tmp_path: Path) -> None:
    config = get_settings()
    assert config.exploration_rate == 0.0 and config.registry_poll_seconds == 10.0
    assert config.spool_dir == tmp_path / "spool" and config.scorer_workers == 2
    assert config.access_log is False and config.trace_scoring is False
    assert config.wal_dir == tmp_path / "wal" and config.wal_fsync_seconds == 1.0


def test_write_ahead_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_WAL_DIR", "/tmp/wal-elsewhere")
    monkeypatch.setenv("FRAUD_WAL_FSYNC_SECONDS", "0")
    config = get_settings()
    assert (config.wal_dir, config.wal_fsync_seconds) == (Path("/tmp/wal-elsewhere"), 0.0)
    monkeypatch.setenv("FRAUD_WAL_FSYNC_SECONDS", "-1")
    with pytest.raises(ValueError, match="FRAUD_WAL_FSYNC_SECONDS"):
        get_settings()


def test_values_and_refusals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_EXPLORATION_RATE", "0.02")
    monkeypatch.setenv("FRAUD_LOG_BATCH_SIZE", "100")
    monkeypatch.setenv("FRAUD_SPOOL_DIR", "/tmp/elsewhere")
    config = get_settings()
    assert (config.exploration_rate, config.log_batch_size) == (0.02, 100)
    assert config.spool_dir == Path("/tmp/elsewhere")
    monkeypatch.setenv("FRAUD_EXPLORATION_RATE", "1.5")
    with pytest.raises(ValueError, match="FRAUD_EXPLORATION_RATE"):
        get_settings()
    monkeypatch.setenv("FRAUD_EXPLORATION_RATE", "often")
    with pytest.raises(ValueError, match="not a number"):
        get_settings()


def test_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_ACCESS_LOG", "true")
    monkeypatch.setenv("FRAUD_TRACE_SCORING", "1")
    config = get_settings()
    assert config.access_log is True and config.trace_scoring is True
    monkeypatch.setenv("FRAUD_ACCESS_LOG", "Off")
    assert get_settings().access_log is False
    monkeypatch.setenv("FRAUD_TRACE_SCORING", "sometimes")
    with pytest.raises(ValueError, match="FRAUD_TRACE_SCORING"):
        get_settings()
