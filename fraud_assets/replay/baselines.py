"""The two arms that bracket the platform, on the same world: the static deployment of the
case study and an oracle retrained on true outcomes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import numpy as np

from fraud_assets.replay.world import ReplayWorld
from fraud_core.policy import DEFAULT_THRESHOLD

ORACLE_EVERY_DAYS = 30
ORACLE_WINDOW_DAYS = 90


def static_blocks(world: ReplayWorld, predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The first champion (`predict`: features -> fraud probability) blocking at 0.5 over the
    drift months, never retrained, no exploration: the case study's deployment."""
    from fraud_core.features import featurize_frame

    X = featurize_frame(world.transactions.iloc[world.drift])
    return predict(X) >= DEFAULT_THRESHOLD


def oracle_blocks(world: ReplayWorld, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Retrained every 30 days on the true outcomes of the 90 days before (every payment,
    fraud known at once), with the platform's recipe, blocking at 0.5: the upper bound."""
    from fraud_core.features import featurize_frame
    from fraud_core.training import Recipe, fit

    blocks = np.zeros(world.drift.stop - world.drift.start, dtype=bool)
    for day in range(0, world.size.drift_days, ORACLE_EVERY_DAYS):
        start = world.drift_start + timedelta(days=day)
        train = world.rows_between(start - timedelta(days=ORACLE_WINDOW_DAYS), start)
        serve = world.rows_between(start, start + timedelta(days=ORACLE_EVERY_DAYS))
        X = featurize_frame(world.transactions.iloc[train])
        model = fit(X, world.is_fraud[train].astype(int), Recipe(seed=world.seed))
        scores = model.predict_proba(featurize_frame(world.transactions.iloc[serve]))[:, 1]
        offset = world.drift.start
        blocks[serve.start - offset : serve.stop - offset] = scores >= DEFAULT_THRESHOLD
        if progress is not None:
            progress(min(ORACLE_EVERY_DAYS, world.size.drift_days - day))
    return blocks
