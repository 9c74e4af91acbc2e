"""The incident, reproduced: >= 97% accuracy before the drift, 12-25% of legitimate payments
blocked after it, < 5% once retrained on fresh labels at comparable recall.

A smaller world and fewer trees than the full-size figures (`python -m
fraud_core.simulation.incident`: 5,000 payments a day, 200 trees), with the same bands.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from fraud_core.simulation.incident import RECALL_SLACK, main, run_incident


@pytest.fixture(scope="module")
def report():
    return run_incident(seed=0, tx_per_day=1_000, trees=100)


@pytest.mark.slow
def test_the_static_model_looks_excellent_before_the_drift(report):
    assert report.test["accuracy"] >= 0.97
    assert report.test["fpr"] < 0.02 and report.test["recall"] > 0.85


@pytest.mark.slow
def test_after_the_drift_it_blocks_12_to_25_percent_of_legitimate_payments(report):
    fpr = report.monthly["fpr"].to_numpy()
    assert 0.12 <= report.after_drift["fpr"] <= 0.25
    assert fpr[0] < fpr[-1] and (fpr[1:] >= fpr[:-1] - 0.01).all()  # a silent, steady rise
    assert report.after_drift["recall"] > 0.85  # while it still catches fraud


@pytest.mark.slow
def test_retraining_on_fresh_labels_brings_it_under_5_percent(report):
    assert report.comparable["fpr"] < 0.05
    assert report.comparable["recall"] >= report.after_drift["recall"] - RECALL_SLACK - 0.01
    assert report.retrained["fpr"] < 0.05


@pytest.mark.slow
def test_the_script_prints_the_figures_and_saves_the_plot(tmp_path, monkeypatch, report):
    monkeypatch.setattr("fraud_core.simulation.incident.run_incident", lambda *args: report)
    plot = tmp_path / "fpr.png"
    result = CliRunner().invoke(main, ["--seed", "0", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert f"static model, last month:      fpr {report.after_drift['fpr']:.2%}" in result.output
    assert plot.read_bytes().startswith(b"\x89PNG") and plot.stat().st_size > 10_000
