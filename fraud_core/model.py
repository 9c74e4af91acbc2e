"""A registered model version loaded for serving: XGBoost booster + the feature spec it needs."""

from __future__ import annotations

from dataclasses import dataclass
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

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Fraud probabilities for rows of X (FEATURE_NAMES order; one 1-D row is accepted)."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != len(self.feature_spec.names):
            raise ValueError(
                f"expected rows of {len(self.feature_spec.names)} features, got shape {X.shape}"
            )
        # inplace_predict skips the DMatrix copy and is thread-safe; binary:logistic is checked
        # at load time, so these are probabilities, not margins or labels.
        return self.booster.inplace_predict(X)
