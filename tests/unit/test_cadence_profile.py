"""Intervals from the environment, and the settings profile the demo writes."""

import pytest

from fraud_assets.cadence import monitoring_cron, sensor_interval
from fraud_assets.profile import apply_profile
from fraud_core.settings import MONITORING_CRON


def test_sensor_interval_and_cron_default_and_override(monkeypatch):
    monkeypatch.delenv("FRAUD_SENSOR_INTERVAL_SECONDS", raising=False)
    monkeypatch.delenv("FRAUD_MONITORING_CRON", raising=False)
    assert sensor_interval(300) == 300 and monitoring_cron() == MONITORING_CRON
    monkeypatch.setenv("FRAUD_SENSOR_INTERVAL_SECONDS", "10")
    monkeypatch.setenv("FRAUD_MONITORING_CRON", "* * * * *")
    assert sensor_interval(300) == 10 and monitoring_cron() == "* * * * *"
    monkeypatch.setenv("FRAUD_SENSOR_INTERVAL_SECONDS", "0")
    with pytest.raises(ValueError, match="FRAUD_SENSOR_INTERVAL_SECONDS"):
        sensor_interval(300)


def test_profile_applies_and_is_undone_when_removed(tmp_path, monkeypatch):
    path = tmp_path / "profile.env"
    monkeypatch.setenv("FRAUD_PROFILE_FILE", str(path))
    monkeypatch.setenv("FRAUD_RETRAIN_MIN_LABELS", "1000")
    monkeypatch.delenv("FRAUD_STAGE_MIN_SECONDS", raising=False)
    path.write_text("FRAUD_RETRAIN_MIN_LABELS=50\nFRAUD_STAGE_MIN_SECONDS=15\n")
    assert apply_profile() == {"FRAUD_RETRAIN_MIN_LABELS": "50", "FRAUD_STAGE_MIN_SECONDS": "15"}
    import os

    assert os.environ["FRAUD_RETRAIN_MIN_LABELS"] == "50"
    path.unlink()
    assert apply_profile() == {}
    assert os.environ["FRAUD_RETRAIN_MIN_LABELS"] == "1000"
    assert "FRAUD_STAGE_MIN_SECONDS" not in os.environ
