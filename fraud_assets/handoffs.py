"""The values assets hand each other, and the IO manager that keeps them.

An asset that feeds another returns `dg.Output(value, metadata=...)`: the value, a frozen
`Handoff`, is what the downstream asset (or the asset's own check) receives as a typed
parameter; the metadata is for people (links, tables, figures) and no code reads it back.
`HandoffIOManager` stores each value as JSON under `$FRAUD_VAR_DIR/handoffs/`, so a run reads
what an earlier run, in any process, handed on.
"""

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, get_origin
from urllib.parse import quote
from uuid import uuid4

import dagster as dg
from pydantic import BaseModel, ConfigDict, ValidationError

HANDOFF_IO_MANAGER = "handoff_io_manager"
"""Resource key of `HandoffIOManager` (`io_manager_key` of every asset that hands a value on)."""


class Handoff(BaseModel):
    """A value one asset hands the next: frozen, validated, stored as JSON by its class name."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    kinds: ClassVar[dict[str, type["Handoff"]]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        Handoff.kinds[cls.__name__] = cls


class LabeledSnapshot(Handoff):
    """`labeled_predictions`: the window's predictions with their label states (Parquet)."""

    path: str
    as_of: datetime
    window_days: int
    rows: int


class TrainingSnapshot(Handoff):
    """`training_dataset`: the training rows of a window (Parquet) and what identifies them."""

    path: str
    as_of: datetime
    days: int
    label_maturity_days: float
    start: datetime | None
    end: datetime | None
    rows: int
    frauds: int
    content_hash: str

    def window(self) -> dict[str, Any]:
        """The window as the snapshot's metadata and the version's `training_window` tag
        record it."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "rows": self.rows,
            "frauds": self.frauds,
            "content_hash": self.content_hash,
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "label_maturity_days": self.label_maturity_days,
        }


class TrainedCandidate(Handoff):
    """`trained_model`: a registered version, not yet gated, and the holdout it is judged on."""

    model_version: str
    mlflow_run_id: str
    holdout_path: str
    holdout_start: datetime
    window_hash: str
    metrics: dict[str, float]


class GateVerdict(Handoff):
    """`validation_gate`: the verdict on a candidate against the champion of the day."""

    model_version: str
    champion_version: str | None
    passed: bool
    summary: str
    dagster_run_id: str


class ShadowVerdict(Handoff):
    """`shadow_evaluation`: the verdict on the challenger's shadow traffic."""

    model_version: str
    passed: bool
    summary: str


class ReferenceSample(Handoff):
    """`reference_profile`: the champion's scored reference sample (Parquet), frozen."""

    model_version: str
    path: str
    sha256: str
    rows: int


class HandoffIOManager(dg.ConfigurableIOManager):
    """`Handoff` values as JSON files: `<base_dir>/<asset>.json`, or
    `<base_dir>/<asset>/<partition>.json` for a partitioned asset; written atomically.

    A parameter fed by several partitions is annotated `dict[str, T]` (partition key -> value);
    by one, `T`."""

    base_dir: str
    """Folder of the JSON files (`Settings.handoffs_dir`: `$FRAUD_VAR_DIR/handoffs`)."""

    def handle_output(self, context: dg.OutputContext, obj: Handoff) -> None:
        if not isinstance(obj, Handoff):
            raise TypeError(
                f"{context.asset_key.to_user_string()} returned a {type(obj).__name__}: "
                f"{HANDOFF_IO_MANAGER} keeps Handoff values only"
            )
        partition = context.asset_partition_key if context.has_asset_partitions else None
        path = self._path(context.asset_key, partition)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid4().hex}.tmp")
        tmp.write_text(
            json.dumps({"type": type(obj).__name__, "value": obj.model_dump(mode="json")})
        )
        tmp.replace(path)

    def load_input(self, context: dg.InputContext) -> Handoff | dict[str, Handoff]:
        key = context.asset_key
        if not context.has_asset_partitions:
            return self._read(key, None)
        values = {
            partition: self._read(key, partition) for partition in context.asset_partition_keys
        }
        expected = context.dagster_type.typing_type
        if expected is dict or get_origin(expected) in (dict, Mapping):
            return values
        if len(values) != 1:
            raise dg.Failure(
                f"{len(values)} partitions of {key.to_user_string()} feed one value: annotate "
                "the parameter dict[str, ...] (partition key -> value)"
            )
        return next(iter(values.values()))

    def _path(self, key: dg.AssetKey, partition: str | None) -> Path:
        *folders, name = key.path
        if partition is None:
            return Path(self.base_dir, *folders, f"{name}.json")
        return Path(self.base_dir, *folders, name, f"{quote(partition, safe='')}.json")

    def _read(self, key: dg.AssetKey, partition: str | None) -> Handoff:
        path = self._path(key, partition)
        asset = key.to_user_string()
        what = f"{asset} (partition {partition})" if partition is not None else asset
        try:
            stored = json.loads(path.read_text())
        except FileNotFoundError:
            raise dg.Failure(f"no value of {what} at {path}: materialize {asset} first") from None
        kind = Handoff.kinds.get(stored.get("type"))
        if kind is None:
            raise dg.Failure(f"{path} holds no known hand-off: rematerialize {what}")
        try:
            return kind.model_validate(stored["value"])
        except ValidationError as error:
            raise dg.Failure(
                f"{path} no longer fits {kind.__name__} ({error.error_count()} fields differ): "
                f"rematerialize {what}"
            ) from error
