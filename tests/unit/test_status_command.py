"""`fraudops status`: quick, read-only, says what is missing instead of creating it."""

import time

from click.testing import CliRunner

from fraud_core.cli import main


def test_status_names_missing_databases_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("FRAUD_DB_URL", "MLFLOW_TRACKING_URI", "FRAUD_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)
    started = time.monotonic()
    result = CliRunner().invoke(main, ["status", "--dagster-url", "http://127.0.0.1:9"])
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started < 2.0
    assert "missing   MLflow registry var/mlflow.db does not exist" in result.output
    assert "missing   feedback store var/fraud.db does not exist" in result.output
    assert "runs      unknown: Dagster at http://127.0.0.1:9 unreachable" in result.output
    assert not (tmp_path / "var").exists()


def test_status_shows_figures_and_firing_alerts(tmp_path, monkeypatch):
    from datetime import UTC, datetime, timedelta

    from fraud_core.store import FeedbackStore

    url = f"sqlite:///{tmp_path / 'fraud.db'}"
    now = datetime.now(UTC)
    with FeedbackStore(url) as store:
        rows = [
            {"metric": "fpr", "value": 0.131, "model_version": "3", "variant": "champion"},
            {"metric": "feature_drift", "value": 0.4, "feature": "amount_usd_log"},
            {"metric": "drift_detected", "value": 1.0, "model_version": "3"},
            {"metric": "fpr_estimate", "value": 0.02, "model_version": "rule-v1"},
        ]
        store.write_metrics(
            [
                {
                    **r,
                    "window_start": now - timedelta(hours=1),
                    "window_end": now,
                    "source": "test",
                    "computed_at": now,
                }
                for r in rows
            ]  # fmt: skip
        )
    result = CliRunner().invoke(
        main,
        [
            "status",
            "--db-url",
            url,
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'none.db'}",
            "--dagster-url",
            "http://127.0.0.1:9",
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    assert "FPR       0.1310 (v3" in result.output
    assert "WARNING FPR 13.1% > 12%" in result.output
    assert "DRIFT 1 features >= 0.1 (amount_usd_log 0.40)" in result.output
    assert "FPR est.  0.0200 (rule-v1, window to" in result.output  # a rule is no "v" version
