"""The reference profile's sample on the cluster: the same rows as in process."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from fraud_core.cluster.days import day_frames

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from dask.distributed import Client

    from fraud_core.lake import Lake
    from fraud_core.store import FeedbackStore


def _drawn(frame: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    import numpy as np

    return frame[np.isin(frame["id"].to_numpy(), keep)]


def sampled_traffic(
    client: Client,
    lake: Lake,
    store: FeedbackStore,
    start: datetime,
    end: datetime,
    rows: int,
    seed: int,
) -> pd.DataFrame:
    """`monitoring.sample_rows` of the window's predictions (features only), in two passes over
    the lake on the workers: the day's row ids to draw the sample here, then each day's
    features filtered to the drawn rows there; only the sample comes back."""
    import numpy as np
    import pandas as pd

    from fraud_core.monitoring import sample_rows

    ids = client.gather(
        day_frames(client, lake, store, start, end, columns=[], then=lambda f: f[["id"]])
    )
    if not ids:
        return pd.DataFrame()
    keep = sample_rows(pd.concat(ids, ignore_index=True), rows, seed)["id"].to_numpy()
    shared = client.scatter(np.sort(keep), broadcast=True)
    days = day_frames(
        client, lake, store, start, end, columns=[], features=True, then=_drawn, then_args=(shared,)
    )
    return pd.concat(client.gather(days), ignore_index=True)
