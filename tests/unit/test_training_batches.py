"""The in-process fit on batches (`fit_batches`) against the fit on one matrix (`fit`), and the
row ranges `snapshot_rows` reads of a Parquet snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_core.features import FEATURE_NAMES
from fraud_core.training import (
    Recipe,
    downsample_legit,
    features_and_target,
    fit,
    fit_batches,
    snapshot_rows,
)

RECIPE = Recipe(n_estimators=20, max_depth=3)


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    """4,000 labeled training rows: fraud where the first two features are high."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(4000, len(FEATURE_NAMES))).astype(np.float32)
    fraud = X[:, 0] + X[:, 1] + rng.normal(scale=0.5, size=len(X)) > 2.5
    frame = pd.DataFrame(X, columns=list(FEATURE_NAMES))
    return frame.assign(
        transaction_id=[f"tx-{i}" for i in range(len(X))],
        label=np.where(fraud, "fraud", "legit"),
        weight=rng.uniform(1, 3, size=len(X)),
    )


def scores(model, frame: pd.DataFrame) -> np.ndarray:
    return model.predict_proba(features_and_target(frame)[0])[:, 1]


def test_one_batch_is_the_fit_on_one_matrix(rows: pd.DataFrame) -> None:
    X, y = features_and_target(rows)
    whole = fit(X, y, RECIPE, sample_weight=rows["weight"].to_numpy())
    batched = fit_batches(lambda: iter([rows]), RECIPE)
    assert type(batched) is type(whole)
    assert batched.get_params()["scale_pos_weight"] == whole.get_params()["scale_pos_weight"]
    np.testing.assert_allclose(scores(batched, rows), scores(whole, rows), rtol=1e-6)


def test_batches_downsample_as_the_whole_frame_does(rows: pd.DataFrame) -> None:
    recipe = Recipe(n_estimators=20, max_depth=3, legit_keep_fraction=0.5, seed=3)
    kept = downsample_legit(rows, 0.5, seed=3)
    X, y = features_and_target(kept)
    whole = fit(X, y, recipe, sample_weight=kept["weight"].to_numpy())
    batched = fit_batches(lambda: iter([rows]), recipe)
    np.testing.assert_allclose(scores(batched, rows), scores(whole, rows), rtol=1e-6)


def test_many_batches_fit_within_noise_of_one_matrix(rows: pd.DataFrame) -> None:
    X, y = features_and_target(rows)
    whole = fit(X, y, RECIPE, sample_weight=rows["weight"].to_numpy())
    batched = fit_batches(
        lambda: (rows.iloc[i : i + 500] for i in range(0, len(rows), 500)), RECIPE
    )
    # eight sketches merged instead of one: the histogram cuts, hence the trees, move a little
    assert np.corrcoef(scores(batched, rows), scores(whole, rows))[0, 1] > 0.99
    fraud = y == 1
    assert (scores(batched, rows)[fraud] > 0.5).mean() == pytest.approx(
        (scores(whole, rows)[fraud] > 0.5).mean(), abs=0.03
    )


def test_snapshot_rows_reads_a_row_range_across_row_groups(rows: pd.DataFrame, tmp_path) -> None:
    path = tmp_path / "snapshot.parquet"
    rows.to_parquet(path, index=False, row_group_size=1000)
    read = pd.concat(snapshot_rows(str(path), 1500, 3200, ["transaction_id", "weight"]))
    assert list(read.columns) == ["transaction_id", "weight"]
    assert list(read["transaction_id"]) == list(rows["transaction_id"].iloc[1500:3200])
    assert sum(len(f) for f in snapshot_rows(str(path), 0, len(rows))) == len(rows)
    assert next(snapshot_rows(str(path), 3000, 4000)).shape == (1000, rows.shape[1])
