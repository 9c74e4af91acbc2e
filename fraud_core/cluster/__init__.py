"""The distributed path: training and the heaviest monitoring scan on a Dask cluster
(`dask.distributed`, `xgboost.dask`) when `FRAUD_DASK_ADDRESS` names its scheduler.

Workers read the lake's day partitions themselves (one task per day, column-pruned, by URL);
the caller keeps only what the store must answer (labels, the still-open day). Results are the
in-process path's: the same training rows, holdout and reference sample, and a plain
`xgboost.XGBClassifier` that the scorer and the pyfunc flavour load as before.

dask, distributed and xgboost are imported inside functions (the Dagster code location imports
this package when it loads).
"""

from fraud_core.cluster.client import open_client
from fraud_core.cluster.days import as_dataframe, day_frames
from fraud_core.cluster.sampling import sampled_traffic
from fraud_core.cluster.training import fit_on_cluster, rows_by_day, split_by_time

__all__ = [
    "as_dataframe",
    "day_frames",
    "fit_on_cluster",
    "open_client",
    "sampled_traffic",
    "split_by_time",
    "rows_by_day",
]
