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


def test_segments_and_weeks_match_their_per_row_definitions() -> None:
    """`segments_of` (bands by one search over the edges, a group per distinct country) and
    the snapshot's ISO weeks give what the per-row functions give, edges and gaps included."""
    from fraud_assets.defs.training.training_dataset import iso_weeks
    from fraud_core.features import AMOUNT_BANDS, amount_band, country_group
    from fraud_core.training import segments_of

    rng = np.random.default_rng(5)
    edges = [u for u, _ in AMOUNT_BANDS if np.isfinite(u)]
    usd = np.r_[rng.lognormal(4, 2, 5000), edges, np.nextafter(edges, 0), 0.0, 1e300]
    countries = np.array(["DE", "BR", "US", "ZZ", None], dtype=object)
    frame = pd.DataFrame(
        {
            "payment_method": rng.choice(["card", "digital_wallet"], len(usd)),
            "customer_country": rng.choice(countries, len(usd)),
            "amount_usd": usd,
        }
    )
    segments = segments_of(frame)
    assert segments["amount_band"].tolist() == [amount_band(a) for a in usd]
    assert segments["country_group"].tolist() == [
        country_group(c) for c in frame["customer_country"]
    ]
    with pytest.raises(StopIteration):  # an amount no band takes is refused, as before
        segments_of(frame.assign(amount_usd=np.nan))

    times = pd.Series(pd.date_range("2020-12-25", "2027-01-05", freq="13h", tz="UTC"))
    assert iso_weeks(times).tolist() == times.dt.strftime("%G-W%V").tolist()
    assert iso_weeks(times.iloc[:0]).empty
