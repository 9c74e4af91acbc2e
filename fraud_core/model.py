"""A registered model version loaded for serving: XGBoost booster + the feature spec it needs."""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from fraud_core.features import FeatureSpec

if TYPE_CHECKING:
    import xgboost


@dataclass(frozen=True)
class LoadedModel:
    """One model version in memory; `predict` returns fraud probabilities (class 1)."""

    version: str
    run_id: str | None
    feature_spec: FeatureSpec
    booster: xgboost.Booster
    _predict_dense: _DensePredictor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_predict_dense", _DensePredictor(self.booster))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Fraud probabilities for rows of X (FEATURE_NAMES order; one 1-D row is accepted)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != len(self.feature_spec.names):
            raise ValueError(
                f"expected rows of {len(self.feature_spec.names)} features, got shape {X.shape}"
            )
        # binary:logistic is checked at load time: these are probabilities, not margins.
        return self._predict_dense(np.ascontiguousarray(X))


class _DensePredictor:
    """`Booster.inplace_predict(X)` for a C-contiguous float32 matrix, minus its per-call Python.

    The same C entry point (`XGBoosterPredictFromDense`, thread-safe and lock-free; ctypes
    releases the GIL around it) with the JSON config built once. `inplace_predict` spends about
    two thirds of a single-row call in Python (argument JSON, input-type dispatch, output
    shape arrays); this path returns the same float32 values (tests/unit/test_model.py).
    """

    def __init__(self, booster: xgboost.Booster) -> None:
        from xgboost.core import _LIB, _check_call, c_bst_ulong, make_jcargs

        self._booster = booster  # keeps the handle alive
        self._features = booster.num_features()
        self._call = _LIB.XGBoosterPredictFromDense
        self._check = _check_call
        self._ulong = c_bst_ulong
        self._config = make_jcargs(
            type=0,  # values (probabilities), not margins
            training=False,
            iteration_begin=0,
            iteration_end=0,
            missing=float("nan"),
            strict_shape=False,
            cache_id=0,
        )

    def __call__(self, X: np.ndarray) -> np.ndarray:
        rows, columns = X.shape
        if columns != self._features:
            raise ValueError(f"the booster takes {self._features} features, got {columns}")
        if rows == 0:
            return np.empty(0, dtype=np.float32)
        interface = (
            f'{{"data":[{X.ctypes.data},false],"shape":[{rows},{columns}],'
            '"strides":null,"typestr":"<f4","version":3}'
        ).encode()
        shape = ctypes.POINTER(self._ulong)()
        dims = self._ulong()
        preds = ctypes.POINTER(ctypes.c_float)()
        self._check(
            self._call(
                self._booster.handle,
                interface,
                self._config,
                None,  # no proxy DMatrix: no base margin
                ctypes.byref(shape),
                ctypes.byref(dims),
                ctypes.byref(preds),
            )
        )
        size = math.prod(shape[i] for i in range(dims.value))
        if size != rows:
            raise RuntimeError(f"XGBoost returned {size} values for {rows} rows")
        # The buffer is the booster's, per thread: copy before the next call reuses it.
        return np.ctypeslib.as_array(preds, shape=(rows,)).copy()
