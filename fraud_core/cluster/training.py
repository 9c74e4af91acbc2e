"""Training on the cluster: the training rows built by the workers day by day from the lake,
the time-based holdout cut across days, and `xgboost.dask` fitting on the training days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from fraud_core.cluster.days import as_dataframe, day_frames
from fraud_core.features import FEATURE_NAMES
from fraud_core.training import (
    Recipe,
    as_classifier,
    downsample_legit,
    holdout_cut,
    training_rows,
    xgb_params,
)

if TYPE_CHECKING:
    import pandas as pd
    import xgboost
    from dask.distributed import Client, Future

    from fraud_core.lake import Lake
    from fraud_core.store import FeedbackStore

LOG_COLUMNS = (
    "transaction_id", "payment_method", "customer_country", "score", "threshold", "decision",
    "model_version", "variant", "explored", "propensity", "label_source",
)  # fmt: skip
"""What `labeled_predictions` keeps of the log (the features are read beside them)."""


def _rows(frame: pd.DataFrame, as_of: datetime, days: int, maturity_days: float) -> pd.DataFrame:
    """On a worker: `training_rows` of one day, framed as `training_dataset`'s snapshot."""
    labeled = frame[["event_time", *LOG_COLUMNS]].assign(reported_label=frame["label"])
    labeled = labeled.join(frame[list(FEATURE_NAMES)].astype({"amount_usd": "float64"}))
    return training_rows(labeled, as_of, days, maturity_days)


def rows_by_day(
    client: Client,
    lake: Lake,
    store: FeedbackStore,
    as_of: datetime,
    days: int,
    maturity_days: float,
) -> list[Future]:
    """`training_rows(labeled window, as_of, days, maturity_days)` as one future per day,
    oldest first: the days of [as_of - days, as_of - maturity_days) read by the workers."""
    start, settled = as_of - timedelta(days=days), as_of - timedelta(days=maturity_days)
    return day_frames(
        client,
        lake,
        store,
        start,
        settled,
        columns=LOG_COLUMNS[:-1],
        features=True,
        as_of=as_of,
        then=_rows,
        then_args=(as_of, days, maturity_days),
    )


def split_by_time(
    client: Client, days: list[Future], holdout_fraction: float
) -> tuple[list[Future], pd.DataFrame]:
    """`fraud_core.training.time_split` across day frames (oldest first, each in time order):
    the training days stay on the workers, the holdout comes back as one frame."""
    import pandas as pd

    lengths = client.gather([client.submit(len, day, pure=False) for day in days])
    cut = holdout_cut(sum(lengths), holdout_fraction)
    train, holdout, offset = [], [], 0
    for day, rows in zip(days, lengths, strict=True):
        if offset + rows <= cut:
            train.append(day)
        elif offset >= cut:
            holdout.append(day)
        else:
            train.append(client.submit(lambda f, n: f.iloc[:n], day, cut - offset, pure=False))
            holdout.append(client.submit(lambda f, n: f.iloc[n:], day, cut - offset, pure=False))
        offset += rows
    return train, pd.concat(client.gather(holdout), ignore_index=True)


def fit_on_cluster(client: Client, days: list[Future], recipe: Recipe) -> xgboost.XGBClassifier:
    """`fraud_core.training.fit` with `xgboost.dask` on the training days (downsampled by
    `recipe.legit_keep_fraction` on the workers); the booster comes back as a plain
    `XGBClassifier`, the model kind the scorer and the registry load."""
    from xgboost.dask import DaskXGBClassifier

    days = [
        client.submit(downsample_legit, day, recipe.legit_keep_fraction, recipe.seed, pure=False)
        for day in days
    ]
    frame = as_dataframe(client, days)
    y = (frame["label"] == "fraud").astype("int64")
    rows, positives = client.compute([frame.shape[0], y.sum()], sync=True)
    params = xgb_params(recipe, int(rows), int(positives))
    distributed = DaskXGBClassifier(**params)
    distributed.client = client
    with client.as_current():  # xgboost.dask looks the current client up even when given one
        X = frame[list(FEATURE_NAMES)].astype("float32")
        distributed.fit(X, y, sample_weight=frame["weight"])
    return as_classifier(distributed.get_booster(), params)
