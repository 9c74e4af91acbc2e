"""LoadedModel.predict: the direct XGBoost call gives exactly what inplace_predict gives."""

import numpy as np
import pytest
import xgboost as xgb

from fraud_core.features import FEATURE_NAMES, FEATURE_SPEC
from fraud_core.model import LoadedModel


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(2000, len(FEATURE_NAMES))).astype(np.float32)
    y = (X[:, 0] + X[:, 3] * X[:, 5] + rng.normal(scale=0.5, size=len(X)) > 0.8).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 4, "nthread": 1},
        xgb.DMatrix(X, label=y),
        num_boost_round=30,
    )
    return LoadedModel("1", None, FEATURE_SPEC, booster)


def test_same_values_as_inplace_predict(model: LoadedModel) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(500, len(FEATURE_NAMES))).astype(np.float32)
    X[rng.random(X.shape) < 0.05] = np.nan  # missing values take the default branch
    expected = model.booster.inplace_predict(X)
    np.testing.assert_array_equal(model.predict(X), expected)
    for i in range(0, 500, 37):  # one row at a time, 1-D or 2-D
        np.testing.assert_array_equal(model.predict(X[i]), expected[i : i + 1])
        np.testing.assert_array_equal(model.predict(X[i : i + 1]), expected[i : i + 1])


def test_non_contiguous_and_float64_input(model: LoadedModel) -> None:
    rng = np.random.default_rng(5)
    wide = rng.normal(size=(100, 2 * len(FEATURE_NAMES)))
    X = wide[:, ::2]  # float64, strided
    expected = model.booster.inplace_predict(X.astype(np.float32))
    np.testing.assert_array_equal(model.predict(X), expected)
    np.testing.assert_array_equal(model.predict(X[::3]), expected[::3])


def test_results_are_copies(model: LoadedModel) -> None:
    X = np.zeros((3, len(FEATURE_NAMES)), dtype=np.float32)
    first = model.predict(X)
    kept = first.copy()
    model.predict(np.ones((3, len(FEATURE_NAMES)), dtype=np.float32))
    np.testing.assert_array_equal(first, kept)  # not overwritten by the next call


def test_wrong_shapes_are_refused(model: LoadedModel) -> None:
    with pytest.raises(ValueError, match="features"):
        model.predict(np.zeros((2, 5), dtype=np.float32))
    assert model.predict(np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)).shape == (0,)
