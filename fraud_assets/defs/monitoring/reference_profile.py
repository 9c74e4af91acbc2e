"""`reference_profile`: the champion's training traffic, scored by it, frozen per model version."""

import json
import warnings
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import dagster as dg

from fraud_assets.handoffs import HANDOFF_IO_MANAGER, ReferenceSample
from fraud_assets.provenance import mlflow_run_url, provenance
from fraud_assets.resources import (
    DaskResource,
    FeedbackStoreResource,
    LakeResource,
    LocalFolder,
    RegistryResource,
)

if TYPE_CHECKING:
    import pandas as pd

    from fraud_core.lake import Lake
    from fraud_core.registry import ModelVersionInfo
    from fraud_core.store import FeedbackStore

HASH_TAG = "reference_profile_sha256"


class ReferenceConfig(dg.Config):
    max_rows: int = 100_000
    """Rows sampled from the training window (drift tests on more gain nothing but time)."""


def training_window(info: "ModelVersionInfo") -> tuple[datetime, datetime]:
    """[start, end) of the traffic a version was trained on, from its `training_window` tag."""
    raw = info.tags.get("training_window")
    if not raw:
        raise dg.Failure(
            f"model version {info.version} has no training_window tag: it was not trained by "
            "this platform's retraining job, so its training traffic is unknown"
        )
    import pandas as pd

    window = json.loads(raw)
    if window.get("as_of") and window.get("days"):
        end = pd.Timestamp(window["as_of"]).to_pydatetime()
        return end - timedelta(days=int(window["days"])), end
    return (
        pd.Timestamp(window["start"]).to_pydatetime(),
        pd.Timestamp(window["end"]).to_pydatetime() + timedelta(microseconds=1),
    )


def sampled_traffic(
    lake: "Lake", store: "FeedbackStore", start: datetime, end: datetime, rows: int, seed: int
) -> "pd.DataFrame":
    """`monitoring.sample_rows` of the window's predictions (features only), in two passes over
    the lake: row ids to draw the sample, then each day's features for the drawn rows."""
    import numpy as np
    import pandas as pd

    from fraud_core.monitoring import sample_rows

    ids = lake.frame(store, start, end, columns=[])["id"]
    keep = sample_rows(pd.DataFrame({"id": ids}), rows, seed)["id"].to_numpy()
    days = lake.frames(store, start, end, columns=[], features=True)
    parts = [day[np.isin(day["id"].to_numpy(), keep)] for day in days]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


@dg.asset(
    io_manager_key=HANDOFF_IO_MANAGER,
    group_name="monitoring",
    kinds={"pandas", "parquet", "mlflow"},
    owners=["team:data"],
    description="Predictions of the champion's training window, sampled and scored again by "
    "the champion: the reference of every drift report. Built once per model version and "
    "frozen; its SHA-256 is logged on the version's MLflow run and as a version tag.",
)
def reference_profile(
    context: dg.AssetExecutionContext,
    config: ReferenceConfig,
    store: FeedbackStoreResource,
    lake: LakeResource,
    registry: RegistryResource,
    datasets: LocalFolder,
    dask: DaskResource,
) -> dg.Output[ReferenceSample]:
    import pandas as pd

    from fraud_core.monitoring import frame_hash, scored_frame
    from fraud_core.registry import BATCH_THREADS, CHAMPION

    facade = registry.open()
    info = facade.version_for(CHAMPION)
    if info is None:
        raise dg.Failure("no champion model yet: train and promote one first")
    path = datasets.dir("reference") / f"{facade.model_name}-v{info.version}.parquet"
    start, end = training_window(info)
    if path.exists():
        profile = pd.read_parquet(path)
        digest, logged = frame_hash(profile), info.tags.get(HASH_TAG)
        if logged not in (None, digest):
            raise dg.Failure(
                f"{path} does not match the hash logged for version {info.version} ({logged}): "
                "the frozen reference was altered; delete it to rebuild"
            )
        status = "frozen (reused)"
    else:
        client, args = dask.client(), (start, end, config.max_rows, int(info.version))
        if client is None:
            sample = sampled_traffic(lake.open(), store.open(), *args)
        else:  # the same sample, the window read by the cluster's workers
            from fraud_core.cluster import sampled_traffic as sampled_on_cluster

            sample = sampled_on_cluster(client, lake.open(), store.open(), *args)
        if sample.empty:
            raise dg.Failure(
                f"no predictions in version {info.version}'s training window "
                f"[{start.isoformat()}, {end.isoformat()})"
            )
        profile = scored_frame(sample, facade.load(info.version, BATCH_THREADS))
        digest, logged = frame_hash(profile), None
        tmp = path.with_suffix(".tmp")
        profile.to_parquet(tmp, index=False)
        tmp.replace(path)
        status = "built"
    if logged is None:
        if info.run_id:
            facade.record_on_run(
                info.run_id, tags={HASH_TAG: digest}, artifacts={str(path): "reference_profile"}
            )
        facade.set_version_tags(info.version, {HASH_TAG: digest, "reference_rows": len(profile)})
    metadata = {
        **provenance(context),
        "model_version": info.version,
        "status": status,
        "path": dg.MetadataValue.path(str(path)),
        "sha256": digest,
        "training_window": f"[{start.isoformat()}, {end.isoformat()})",
        "dagster/row_count": len(profile),
        "score_p50": float(profile["score"].median()),
        "score_p99": float(profile["score"].quantile(0.99)),
    }
    if info.run_id:
        experiment = facade.run_experiment(info.run_id)
        metadata["mlflow_run"] = dg.MetadataValue.url(mlflow_run_url(experiment, info.run_id))
    sample = ReferenceSample(
        model_version=str(info.version), path=str(path), sha256=digest, rows=len(profile)
    )
    with warnings.catch_warnings():  # `data_version` on Output is beta in Dagster 1.13: known
        warnings.filterwarnings("ignore", "Parameter `data_version`", dg.BetaWarning)
        return dg.Output(sample, metadata=metadata, data_version=dg.DataVersion(digest[:16]))
