"""monitoring_metrics rows from drift results and performance figures (fraud_core.monitoring)."""

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_core import monitoring
from fraud_core.drift import ColumnDrift, DriftResult
from fraud_core.evaluation import Costs, estimate, estimate_without_labels

NOW = datetime(2026, 6, 1, tzinfo=UTC)
WINDOW = (NOW - timedelta(days=2), NOW)


def test_drift_rows_name_every_column_and_the_verdict():
    result = DriftResult(
        columns=(
            ColumnDrift("amount_usd", "quantile_psi", 0.02, 0.1),
            ColumnDrift("wallet", "jensenshannon", 0.3, 0.1),
            ColumnDrift("score", "quantile_psi", 0.01, 0.1),
        ),
        n_reference=100,
        n_current=10,
        drift_share=0.5,
    )
    rows = monitoring.drift_rows(result, window=WINDOW, model_version="7", computed_at=NOW)
    features = {r["feature"]: r["value"] for r in rows if r["metric"] == "feature_drift"}
    assert features == {"amount_usd": 0.02, "wallet": 0.3, "score": 0.01}
    by_metric = {r["metric"]: r for r in rows if r["metric"] != "feature_drift"}
    assert by_metric["drifted_share"]["value"] == 0.5
    assert by_metric["drift_detected"]["value"] == 1.0
    assert {(r["model_version"], r["variant"], r["source"]) for r in rows} == {
        ("7", "champion", "drift_report")
    }
    assert all(r["window_start"] == WINDOW[0] and r["computed_at"] == NOW for r in rows)


def log(n: int = 6000, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A prediction log with known outcomes: two variants, explored would-block payments."""
    rng = np.random.default_rng(seed)
    fraud = rng.random(n) < 0.05
    score = np.clip(np.where(fraud, 0.7, 0.2) + rng.normal(0, 0.2, n), 0, 1)
    explored = (score >= 0.5) & (rng.random(n) < 0.1)
    frame = pd.DataFrame(
        {
            "score": score,
            "threshold": 0.5,
            "decision": np.where((score >= 0.5) & ~explored, "block", "approve"),
            "explored": explored,
            "propensity": np.where(explored, 0.1, 1.0),
            "amount_usd": rng.lognormal(3.5, 1, n),
            "payment_method": rng.choice(["card", "digital_wallet"], n),
            "customer_country": rng.choice(["DE", "BR"], n),
            "model_version": "3",
            "variant": np.where(rng.random(n) < 0.8, "champion", "canary"),
        }
    )
    blocked = (frame["decision"] == "block").to_numpy()
    states = np.where(blocked, "unobservable", np.where(fraud, "fraud", "legit")).astype(object)
    return frame, states


def test_segments_are_all_then_one_per_dimension_value():
    frame, _ = log(200)
    masks = monitoring.segment_masks(monitoring.segment_values(frame), np.ones(200, dtype=bool))
    assert list(masks)[0] == "all" and masks["all"].all()
    assert masks["payment_method=card"].sum() + masks["payment_method=digital_wallet"].sum() == 200
    assert {"country_group=europe", "country_group=latin_america"} <= set(masks)
    assert any(k.startswith("amount_band=") for k in masks)


def test_realized_figures_reuse_the_ipw_estimate_per_group():
    frame, states = log()
    figures, support = monitoring.realized_figures(frame, states, min_rows=300)
    champion = frame["variant"] == "champion"
    expected = estimate(frame[champion], states[champion.to_numpy()]).metrics
    got = figures[("3", "champion", "all")]
    assert got["fpr"] == pytest.approx(expected.fpr)
    assert got["recall"] == pytest.approx(expected.recall)
    assert set(got) == set(monitoring.FIGURES)
    total_cost = got["expected_cost_false_block"] + got["expected_cost_missed_fraud"]
    assert total_cost == pytest.approx(expected.cost_per_1000_usd)
    assert ("3", "canary", "all") in figures
    assert all(n >= 300 for n in support.values())
    assert not any(k[2].startswith("amount_band=large") and support[k] < 300 for k in figures)


def test_estimated_figures_use_calibrated_probabilities_per_group():
    frame, _ = log()
    p = np.clip(frame["score"].to_numpy() * 0.2, 0, 1)
    figures, support = monitoring.estimated_figures(frame, p, min_rows=100)
    mask = (frame["variant"] == "champion").to_numpy()
    expected = estimate_without_labels(
        p[mask], frame["score"].to_numpy()[mask] >= 0.5, frame["amount_usd"].to_numpy()[mask]
    )
    assert figures[("3", "champion", "all")]["fpr"] == pytest.approx(expected.fpr)
    assert support[("3", "champion", "all")] == mask.sum()


def _per_group(frame, figures_of):
    """The figures computed as they were before segments were cut once per frame: each
    (version, variant) group as its own frame, its segments from that frame."""
    out = {}
    for (version, variant), group in frame.groupby(["model_version", "variant"], sort=True):
        everyone = np.ones(len(group), dtype=bool)
        values = monitoring.segment_values(group)
        for segment, mask in monitoring.segment_masks(values, everyone).items():
            out[(version, variant, segment)] = figures_of(group.index.to_numpy()[mask])
    return out


def _expected(metrics, false_block, missed) -> dict[str, float]:
    return {
        "fpr": metrics.fpr,
        "recall": metrics.recall,
        "precision": metrics.precision,
        "decline_rate": metrics.decline_rate,
        "expected_cost_false_block": false_block.cost_per_1000_usd,
        "expected_cost_missed_fraud": missed.cost_per_1000_usd,
    }


def _close(figures: dict, expected: dict) -> None:
    """Rates equal exactly (NaN == NaN); the cost split to rounding (it is one sum split)."""
    assert figures.keys() == expected.keys()
    for key, values in figures.items():
        assert values.keys() == expected[key].keys()
        for name, value in values.items():
            np.testing.assert_allclose(
                value, expected[key][name], rtol=1e-9, err_msg=f"{key} {name}"
            )


def test_realized_and_estimated_figures_equal_the_per_group_computation_exactly():
    """Segments cut once per frame, rows read from the estimate's columns only, the cost split
    from one pass: the same figures, groups and segments, in the same order, as one frame per
    group with the false blocks and the missed fraud priced apart."""
    frame, states = log(8000, seed=3)
    frame["model_version"] = np.where(np.arange(len(frame)) % 3 == 0, "4", "3")
    missing = np.arange(len(frame)) % 7 == 0
    frame["customer_country"] = np.where(missing, None, frame["customer_country"])
    frame["extra"] = "ignored"
    # the cost split, priced independently: false blocks only, then missed fraud only
    false_block = Costs(fraud_loss_rate=0.0)
    missed = Costs(margin_rate=0.0, churn_cost=0.0)

    def realized(rows):
        main = estimate(frame.iloc[rows], states[rows])
        split = (
            estimate(frame.iloc[rows], states[rows], costs=c).metrics for c in (false_block, missed)
        )
        return main.rows_used, _expected(main.metrics, *split)

    reference = {k: v for k, v in _per_group(frame, realized).items() if v[0] >= 100}
    figures, support = monitoring.realized_figures(frame, states, min_rows=100)
    assert list(figures) == list(reference)
    _close(figures, {k: v[1] for k, v in reference.items()})
    assert support == {k: v[0] for k, v in reference.items()}

    p = np.clip(frame["score"].to_numpy() * 0.3, 0, 1)
    blocked = (frame["score"] >= frame["threshold"]).to_numpy()
    usd = frame["amount_usd"].to_numpy()

    def estimated(rows):
        args = (p[rows], blocked[rows], usd[rows])
        split = (estimate_without_labels(*args, costs=c) for c in (false_block, missed))
        return len(rows), _expected(estimate_without_labels(*args), *split)

    reference = {k: v for k, v in _per_group(frame, estimated).items() if v[0] >= 100}
    figures, support = monitoring.estimated_figures(frame, p, min_rows=100)
    assert list(figures) == list(reference)
    _close(figures, {k: v[1] for k, v in reference.items()})
    assert support == {k: v[0] for k, v in reference.items()}


def test_figure_rows_suffix_names_and_skip_undefined_values():
    figures = {("3", "champion", "all"): {"fpr": 0.1, "recall": float("nan")}}
    rows = monitoring.figure_rows(
        figures, window=WINDOW, computed_at=NOW, source="performance_estimate", suffix="_estimate"
    )
    assert [(r["metric"], r["value"], r["segment"]) for r in rows] == [("fpr_estimate", 0.1, None)]


def test_sample_rows_and_frame_hash_are_deterministic():
    frame = pd.DataFrame({"a": np.arange(1000), "b": np.arange(1000) % 7})
    one, two = monitoring.sample_rows(frame, 100, seed=3), monitoring.sample_rows(frame, 100, 3)
    assert len(one) == 100 and one["a"].is_monotonic_increasing
    assert monitoring.frame_hash(one) == monitoring.frame_hash(two)
    assert monitoring.frame_hash(one) != monitoring.frame_hash(
        monitoring.sample_rows(frame, 100, 4)
    )
    assert monitoring.sample_rows(frame, 5000, seed=0).equals(frame)
