"""The platform arm: the real platform carried through the simulated months.

Per simulated hour (`PlatformReplay.step`): the clock (`FRAUD_NOW`) moves to the end of the
hour; the hour's payments are scored by the serving `Scorer` (champion, sticky canary, shadow,
threshold policy, exploration) and written through the prediction log into the feedback store;
label events reported during the hour are delivered (disputes through the `/feedback` code
path, chargebacks and ticket exports appended to the day's landing files, which the daily
`ground_truth_labels` partition picks up); then `InProcessDaemon` ticks the schedules and
sensors and executes their runs; after any run the scorer's registry follower polls, as the
service's poller would within seconds.
"""

from __future__ import annotations

import heapq
import os
import random
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fraud_assets.replay.daemon import InProcessDaemon, LaunchedRun
from fraud_assets.replay.world import ReplayWorld

HOUR = timedelta(hours=1)
SEED_EXPLORATION = 0.05
SEED_MAX_EXPLORE_USD = 1000.0
"""Exploration of the seeded history (`fraudops seed`'s defaults, as `make run` seeds it)."""

PRODUCTION = {
    "FRAUD_EXPLORATION_RATE": "0.05",
    "FRAUD_EXPLORATION_MAX_AMOUNT_USD": "1000",
    "FRAUD_MONITORING_CRON": "30 1 * * *",
    "FRAUD_RELEASE_DECLINE_INCREASE": "0.5",
}
"""The settings the README recommends for production at the replay's volume (everything else:
the defaults). Exploration keeps FPR and recall estimable and gives retraining the blocked
traffic's outcomes; monitoring runs about as often as its drift window (10,000 payments) fills,
daily after the 00:30 ingestion below 40,000 payments a day (the 6-hourly default suits the case
study's 50,000). The release gates catch a 50 % rise in declines rather than the default 20 %:
sized for 20 % at 5,000 payments a day, a release would take about four months."""

_NOT_A_CHOICE = (
    "_DIR",
    "_URL",
    "_URI",
    "_ARTIFACTS",
    "_ADDRESS",
    "_KEY",
    "_PORT",
    "_HOME",
    "_FILE",
)
"""Suffixes of the variables that say where things live or hold a secret, not how it decides."""


def run_settings() -> dict[str, str]:
    """Every platform setting the arm runs with that is not a default: `PRODUCTION`, the scaled
    minimums and whatever the caller's environment set (`FRAUD_LABEL_MATURITY_DAYS=30 fraudops
    replay ...`); locations, secrets and the simulated clock left out."""
    from fraud_core.settings import Settings

    return {
        name: value
        for name, value in sorted(Settings.variables_set().items())
        if name != "FRAUD_NOW" and not name.endswith(_NOT_A_CHOICE)
    }


REPLAY_STORAGE = "fraud_assets.replay.storage"

FILE_SOURCES = {"chargeback": "chargebacks", "ticket_export": "tickets"}
"""Label sources delivered as daily landing files (disputes go through `/feedback`)."""


def platform_environment(folder: Path, db_url: str | None, size_factor: float) -> dict[str, str]:
    """Where the replay's platform keeps its state (its own DAGSTER_HOME, store, registry,
    folders) and its settings: production's, with sample minimums scaled to the volume."""
    var = folder / "var"
    env = {
        "DAGSTER_HOME": str((folder / "dagster_home").resolve()),
        "FRAUD_VAR_DIR": str(var.resolve()),
        "FRAUD_DB_URL": db_url or f"sqlite:///{(var / 'fraud.db').resolve()}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{(var / 'mlflow.db').resolve()}",
        "FRAUD_MLFLOW_ARTIFACTS": str((var / "mlartifacts").resolve()),
        "FRAUD_SPOOL_DIR": str((var / "spool").resolve()),
        "DO_NOT_TRACK": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        **PRODUCTION,
    }
    if size_factor < 1:
        from fraud_core.settings import Settings

        plan = Settings.from_env(env).release_plan()
        first = plan.stage_size(plan.stages[0])  # sizes are computed now: scale the first's
        env["FRAUD_SHADOW_MIN_ROWS"] = str(max(100, int(plan.shadow_rows * size_factor)))
        env["FRAUD_STAGE_MIN_SAMPLES"] = str(max(50, int(first * size_factor)))
        env["FRAUD_RETRAIN_MIN_LABELS"] = str(max(50, int(1000 * size_factor)))
    return env


def write_instance_config(home: Path) -> None:
    """`home`/dagster.yaml: the project's instance settings with one event log database.

    The project's `storage: sqlite` gives each run its own event log file, and Dagster
    initialises every new file by loading its alembic migration scripts (about 0.2 s of CPU per
    run here, where the bytecode of site-packages is not cached). The replay executes its runs
    one at a time in one process, so the file-per-run layout (against writers contending across
    processes) buys it nothing: Dagster's consolidated SQLite event log keeps the same tables
    and queries in one file, and `dagster dev` on this home reads it as any other instance.
    The run and event log storages keep their connections open (`fraud_assets.replay.storage`).
    """
    import yaml

    config = yaml.safe_load(
        (Path(__file__).parents[2] / "dagster_home" / "dagster.yaml").read_text()
    )
    del config["storage"]
    history = home / "history"
    config["run_storage"] = _storage(REPLAY_STORAGE, "ReplayRunStorage", history)
    config["event_log_storage"] = _storage(
        REPLAY_STORAGE, "ReplayEventLogStorage", history / "runs"
    )
    config["schedule_storage"] = _storage(
        "dagster._core.storage.schedules", "SqliteScheduleStorage", home / "schedules"
    )
    (home / "dagster.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _storage(module: str, name: str, folder: Path) -> dict[str, Any]:
    return {
        "module": module,
        "class": name,
        "config": {"base_dir": str(folder)},
    }


@dataclass
class LabelQueue:
    """Label events not yet reported, in report-time order."""

    _heap: list[tuple[int, str, str, str]] = field(default_factory=list)

    def add(self, events: pd.DataFrame) -> None:
        times = pd.to_datetime(events["reported_at"], utc=True).array.asi8
        for when, tx, label, source in zip(
            times.tolist(),
            events["transaction_id"],
            events["label"],
            events["source"],
            strict=True,
        ):
            heapq.heappush(self._heap, (when, str(tx), str(label), str(source)))

    def due(self, until: datetime) -> list[tuple[datetime, str, str, str]]:
        """Events reported before `until`, removed from the queue."""
        limit, out = pd.Timestamp(until).value, []
        while self._heap and self._heap[0][0] < limit:
            when, tx, label, source = heapq.heappop(self._heap)
            out.append((pd.Timestamp(when, tz="UTC").to_pydatetime(), tx, label, source))
        return out

    def __len__(self) -> int:
        return len(self._heap)


class PlatformReplay:
    """The platform of one replay folder, driven hour by hour over `world`."""

    def __init__(
        self,
        world: ReplayWorld,
        folder: Path,
        *,
        db_url: str | None = None,
        on_run: Callable[[LaunchedRun], None] | None = None,
    ) -> None:
        self.world = world
        self.folder = folder
        self.env = platform_environment(folder, db_url, world.size.tx_per_day / 5_000)
        self.on_run = on_run
        self.labels = LabelQueue()
        self.files: dict[tuple[str, str], list[dict]] = {}
        self.delivered = {"dispute": 0, "chargeback": 0, "ticket_export": 0}
        self.now = world.drift_start

    # -- set up ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """A fresh platform: folders, environment, the Dagster instance, the store."""
        if self.folder.exists():
            shutil.rmtree(self.folder)
        home = Path(self.env["DAGSTER_HOME"])
        home.mkdir(parents=True)
        write_instance_config(home)
        Path(self.env["FRAUD_VAR_DIR"]).mkdir(parents=True)
        os.environ.update(self.env)
        self._set_clock(self.world.drift_start)
        from fraud_core.settings import get_settings
        from fraud_core.store import FeedbackStore

        self.settings = get_settings()
        self.settings.ensure_dirs()
        self.store = FeedbackStore(self.env["FRAUD_DB_URL"])
        if self.store.engine.dialect.name == "postgresql":
            _empty_postgres(self.store)

    def seed_history(self) -> int:
        """The pre-drift days scored by the transparent rule with exploration, as
        `make run` seeds them, with the labels reported before drift onset; the later ones
        are queued for delivery at their report time."""
        from fraud_core.features import featurize_frame
        from fraud_core.simulation import decide, generate_labels, prediction_rows, rule_scores
        from fraud_core.simulation.decisions import RULE_VERSION

        world, rows = self.world, self.world.pre_drift
        tx = world.transactions.iloc[rows]
        features = featurize_frame(tx)
        decisions = decide(
            rule_scores(features),
            0.5,
            amount_usd=world.amount_usd[rows],
            exploration=SEED_EXPLORATION,
            max_explore_usd=SEED_MAX_EXPLORE_USD,
            seed=world.seed,
        )
        frame = prediction_rows(
            tx,
            features,
            decisions,
            model_version=RULE_VERSION,
            hash_key=self.settings.hash_key,
            policy_version="static-0.5",
        )
        self.store.insert_predictions(frame)
        events = generate_labels(
            tx,
            world.is_fraud[rows],
            decisions.blocked,
            as_of=world.end + timedelta(days=400),
            seed=world.seed,
        )
        known = pd.to_datetime(events["reported_at"], utc=True) < pd.Timestamp(world.drift_start)
        self.store.upsert_labels(events[known].to_dict("records"))
        self.labels.add(events[~known])
        return len(frame)

    def first_champion(self) -> str:
        """The retraining job on the seeded history, as `make run`'s bootstrap runs it."""
        from fraud_assets.bootstrap import train_first_champion
        from fraud_core.registry import ModelRegistry

        registry = ModelRegistry(
            self.env["MLFLOW_TRACKING_URI"], self.store, self.settings.model_name
        )
        return train_first_champion(registry)

    def start(self) -> None:
        """The scorer as the service builds it (not started: the replay drains it each hour),
        the registry follower, the Dagster definitions and the in-process daemon."""
        import dagster as dg

        from fraud_assets.definitions import defs
        from fraud_core.registry import ModelRegistry
        from fraud_serving.model_slots import RegistryFollower, Slots
        from fraud_serving.prediction_log import PredictionLog
        from fraud_serving.scorer import Scorer
        from fraud_serving.shadow import ShadowRunner

        config = self.settings
        self.log = PredictionLog(self.store, config.spool_dir, batch_size=5_000)
        self.shadow = ShadowRunner(self.log, clock=lambda: self.now)
        self.scorer = Scorer(
            Slots(),
            hash_key=config.hash_key,
            canary_salt=config.canary_salt,
            exploration_rate=config.exploration_rate,
            exploration_max_amount_usd=config.exploration_max_amount_usd,
            prediction_log=self.log,
            shadow=self.shadow,
            rng=random.Random(self.world.seed),
            clock=lambda: self.now,
        )
        registry = ModelRegistry(config.mlflow_tracking_uri, model_name=config.model_name)
        self.follower = RegistryFollower(
            self.scorer, registry, self.store, config.registry_poll_seconds
        )
        self.follower.poll_once()
        self.instance = dg.DagsterInstance.get()
        self.daemon = InProcessDaemon(defs(), self.instance, on_run=self.on_run)
        self.daemon.tick(self.now)

    # -- one simulated hour ------------------------------------------------------------------
    def step(self) -> list[LaunchedRun]:
        """Advance the clock by one hour and do what production does in it."""
        start, end = self.now, self.now + HOUR
        self._set_clock(end)
        self._score(start, end)
        self._deliver(end)
        runs = self.daemon.tick(end)
        if runs:
            self.follower.poll_once()
        return runs

    def _set_clock(self, moment: datetime) -> None:
        self.now = moment
        os.environ["FRAUD_NOW"] = moment.isoformat()

    def _score(self, start: datetime, end: datetime) -> None:
        from fraud_core.schema import Transaction
        from fraud_core.simulation import generate_labels

        rows = self.world.rows_between(start, end)
        if rows.stop <= rows.start:
            return
        batch = [Transaction.model_validate(t) for t in self.world.transaction_dicts(rows)]
        responses = self.scorer.score_many(batch)
        self.shadow.drain()
        self.log.flush()
        blocked = np.array([r.decision == "block" for r in responses])
        hour = int((start - self.world.drift_start) / HOUR)
        events = generate_labels(
            self.world.transactions.iloc[rows],
            self.world.is_fraud[rows],
            blocked,
            as_of=self.world.end + timedelta(days=400),
            seed=self.world.seed * 100_003 + hour + 1,
        )
        self.labels.add(events)

    def _deliver(self, until: datetime) -> None:
        from fraud_core.schema import Label
        from fraud_serving.feedback import record_feedback

        disputes = []
        for when, tx, label, source in self.labels.due(until):
            self.delivered[source] += 1
            if source in FILE_SOURCES:
                day = when.strftime("%Y-%m-%d")
                self.files.setdefault((FILE_SOURCES[source], day), []).append(
                    {
                        "transaction_id": tx,
                        "label": label,
                        "source": source,
                        "reported_at": when.isoformat(),
                    }
                )
            else:
                disputes.append(
                    Label(transaction_id=tx, label=label, source=source, reported_at=when)
                )
        if disputes:
            body, status = record_feedback(self.store, disputes)
            if status != 200:
                raise RuntimeError(f"/feedback refused simulated disputes: {body}")
        if until.hour == 0:  # the day's exports land at midnight, before the 00:30 ingestion
            self._write_landing_files(until - HOUR)

    def _write_landing_files(self, day_of: datetime) -> None:
        day = day_of.strftime("%Y-%m-%d")
        folder = self.settings.landing_dir
        for (name, file_day), rows in list(self.files.items()):
            if file_day <= day:
                pd.DataFrame(rows).to_csv(folder / f"{name}-{file_day}.csv", index=False)
                del self.files[(name, file_day)]

    def close(self) -> None:
        self.log.flush()
        self.daemon.close()
        self.store.close()
        self.instance.dispose()

    def stored_decisions(self) -> pd.DataFrame:
        """What the platform decided on every drift-period payment (from the store)."""
        from sqlalchemy import select

        from fraud_core.store.models import predictions

        p = predictions.c
        stmt = select(
            p.transaction_id,
            p.decision,
            p.model_version,
            p.variant,
            p.policy_version,
            p.explored,
            p.score,
            p.threshold,
        ).where(p.event_time >= self.world.drift_start)
        with self.store.engine.connect() as conn:
            return pd.DataFrame(conn.execute(stmt).mappings().all())

    def audit(self) -> list[dict[str, Any]]:
        return self.store.audit_entries(limit=100_000)


def _empty_postgres(store: Any) -> None:
    """A replay on PostgreSQL starts from empty tables (its schema is the replay's own)."""
    from sqlalchemy import text

    from fraud_core.store.models import Base

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
