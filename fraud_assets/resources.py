"""Resource classes (typed, configurable); `defs/resources.py` binds them to the environment."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dask.distributed import Client

    from fraud_core.lake import Lake
    from fraud_core.registry import ModelRegistry
    from fraud_core.store import FeedbackStore


@cache
def _store(url: str) -> FeedbackStore:
    from fraud_core.store import FeedbackStore

    return FeedbackStore(url)


class FeedbackStoreResource(dg.ConfigurableResource):
    """The feedback store: predictions, label events, audit log, monitoring metrics."""

    db_url: str

    def open(self) -> FeedbackStore:
        return _store(self.db_url)


class RegistryResource(dg.ConfigurableResource):
    """The MLflow model registry facade (aliases, promotion, audit), one client per resource."""

    tracking_uri: str
    model_name: str
    store: FeedbackStoreResource

    def open(self) -> ModelRegistry:
        from fraud_core.registry import ModelRegistry

        return ModelRegistry(
            tracking_uri=self.tracking_uri, store=self.store.open(), model_name=self.model_name
        )


class LocalFolder(dg.ConfigurableResource):
    """A folder under `var/` (reports, dataset snapshots, the label landing zone)."""

    path: str

    def dir(self, *parts: str) -> Path:
        folder = Path(self.path, *parts)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


class Clock(dg.ConfigurableResource):
    """The platform's "now": wall-clock time, or a fixed ISO instant for replays and tests."""

    now: str = ""

    def current(self) -> datetime:
        if not self.now:
            return datetime.now(UTC)
        moment = datetime.fromisoformat(self.now)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class LakeResource(dg.ConfigurableResource):
    """The columnar history (`fraud_core.lake`): per-day Parquet partitions under `url`, on the
    `clock`'s time line (only days closed by then are exported)."""

    url: str
    clock: Clock

    def open(self) -> Lake:
        from fraud_core.lake import Lake

        return Lake(self.url, now=self.clock.current)


class DaskResource(dg.ConfigurableResource):
    """The Dask cluster (`fraud_core.cluster`) that runs the training fit and the reference
    sample when `address` names its scheduler; empty: everything runs in process."""

    address: str = ""

    def client(self) -> Client | None:
        """A client of the scheduler (opened on first use), None without an address."""
        if not self.address:
            return None
        from fraud_core.cluster import open_client

        return open_client(self.address)


class RetrainingTriggers(dg.ConfigurableResource):
    """When the label-volume sensor asks for a retraining."""

    min_new_labels: int = 1000
