"""FeedbackStore: the prediction log, labels, audit log, policy state and monitoring metrics."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, FromClause, case, func, insert, select, true
from sqlalchemy.dialects import postgresql, sqlite

from fraud_core.jsonsafe import json_safe
from fraud_core.settings import get_settings
from fraud_core.store import audit_chain, bulk, keys, partitions
from fraud_core.store.db import IMMEDIATE, make_engine, upgrade
from fraud_core.store.frames import read_frame
from fraud_core.store.locks import HeldLock, advisory_key_sql, hold
from fraud_core.store.models import (
    audit_log,
    label_events,
    monitoring_metrics,
    policy_arms,
    prediction_ids,
    predictions,
    shadow_predictions,
    to_utc,
    utcnow,
)
from fraud_core.store.rows import RowError, label_row, validate

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

_CHUNK = 1000  # keys per IN (...) lookup
LABEL_UPDATED = ("label", "reported_at", "received_at", "details")  # set when a label changes
RETIRED_ACTION, RETIRED_SUBJECT = "retire_online_day", "predictions/day="  # retention's audit


@dataclass(frozen=True)
class RejectedLabel:
    """A label row that was not stored: its position in the batch and why."""

    index: int
    transaction_id: str | None
    reason: str


@dataclass(frozen=True)
class LabelUpsertResult:
    inserted: int
    updated: int
    rejected: list[RejectedLabel]


@dataclass(frozen=True)
class ThresholdArm:
    """Thompson-sampling state of one threshold in one segment (a `policy_arms` row)."""

    policy_version: str
    segment: str
    threshold: float
    alpha: float
    beta: float
    pulls: int
    reward: float
    updated_at: datetime
    model_version: str | None = None
    """The model whose scores the arm's thresholds were cut on."""


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _records(columns: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _label_state(
    conn: Connection, ids: Sequence[str]
) -> tuple[set[str], dict[tuple[str, str], dict[str, Any]]]:
    """Which of `ids` are logged predictions (their day may be retired), and their label
    events by (id, source)."""
    le, tid = label_events.c, prediction_ids.c.transaction_id
    known: set[str] = set()
    events: dict[tuple[str, str], dict[str, Any]] = {}
    for chunk in _chunks(ids):
        known.update(conn.scalars(select(tid).where(tid.in_(chunk))))
        rows = conn.execute(
            select(le.transaction_id, le.source, le.label, le.reported_at, le.details).where(
                le.transaction_id.in_(chunk)
            )
        )
        for event in rows.mappings():
            events[(event["transaction_id"], event["source"])] = dict(event)
    return known, events


def _day_counts(
    conn: Connection, start: datetime, end: datetime
) -> dict[str, tuple[int, int, str]]:
    p = predictions.c
    if conn.dialect.name == "postgresql":
        day = func.to_char(func.timezone("UTC", p.event_time), "YYYY-MM-DD")
    else:
        day = func.substr(p.event_time, 1, 10)
    stmt = (
        select(day.label("day"), func.count(), func.max(p.id), func.max(p.transaction_id))
        .where(p.event_time >= to_utc(start), p.event_time < to_utc(end))
        .group_by(day)
    )
    return {d: (int(n), int(top), tid) for d, n, top, tid in conn.execute(stmt)}


class FeedbackStore:
    """The platform's database. Opening it brings the schema to the latest Alembic revision.

    `url` defaults to the settings' `FRAUD_DB_URL` (a SQLite file under var/ on a laptop);
    PostgreSQL is used through psycopg 3. All timestamps go in and come out as aware UTC
    (naive input is taken as UTC). DataFrames have datetime64[ns, UTC] columns.
    """

    def __init__(self, url: str | None = None) -> None:
        self.engine = make_engine(url or get_settings().db_url)
        if self.engine.dialect.name not in ("postgresql", "sqlite"):
            raise ValueError(f"unsupported database {self.engine.dialect.name!r}")
        upgrade(self.engine)
        self._partitioned: set[date] = set()  # PostgreSQL days known to have a partition

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> FeedbackStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; SQLite takes its write lock at BEGIN, so a read-then-write
        transaction waits for other writers instead of failing on a lock upgrade."""
        conn = self.engine.connect().execution_options(**{IMMEDIATE: True})
        with conn, conn.begin():
            yield conn

    def _upsert(self, table: Any) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # -- prediction log ---------------------------------------------------------------------

    def insert_predictions(self, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Store scored requests; a transaction_id already stored is skipped (spool replays).

        Rows are mappings (or a DataFrame) with the `predictions` columns; `explored`
        defaults to False, `propensity` to 1.0, `wallet_provider`/`policy_version` to None.
        The whole batch is checked first: RowError names the row and column. Returns the
        number of rows inserted.
        """
        columns = validate(predictions, rows)
        if not columns["transaction_id"]:
            return 0
        self._partition_days(columns["event_time"])
        with self._write() as conn:
            columns, _ = keys.insert_keys(conn, columns, skip_known=True)
            return bulk.insert(conn, predictions, columns)

    def insert_prediction_matrix(
        self, rows: pd.DataFrame, features: np.ndarray, names: Sequence[str]
    ) -> int:
        """Store scored requests whose features are a matrix (one column per `names` entry,
        NaN for missing): the bulk path of `fraudops seed`. `rows` has the other `predictions`
        columns. Checked like `insert_predictions` (RowError names the row and column); a
        transaction id already stored is skipped. Returns the rows inserted."""
        from fraud_core.store import matrix

        columns = validate(predictions, rows.assign(features=[{}] * len(rows)))
        matrix.check_matrix(features, names, columns["transaction_id"])
        if self.engine.dialect.name != "postgresql":
            values = [dict(zip(names, row, strict=True)) for row in features.tolist()]
            return self.insert_predictions(rows.assign(features=values))
        if not len(rows):
            return 0
        self._partition_days(columns["event_time"])
        with self._write() as conn:
            columns, kept = keys.insert_keys(conn, columns, skip_known=True)
            if not kept:
                return 0
            if len(kept) < len(rows):
                features = features[kept]
            return matrix.copy_csv(conn, columns, matrix.features_json(features, names))

    def ensure_partitions(self, days: Iterable[date]) -> list[date]:
        """Create the day partitions of `predictions` that `days` lack (PostgreSQL; SQLite
        has none); the days created. Rows of a day with no partition wait in the default one
        and move into the day's partition when it is created."""
        days = set(days)
        if self.engine.dialect.name != "postgresql":
            return []
        with self._write() as conn:
            created = partitions.ensure_days(conn, days)
        self._partitioned.update(days)
        return created

    def _partition_days(self, times: Sequence[datetime]) -> None:
        """Make sure the days of `times` have their partitions (once per day and store)."""
        if self.engine.dialect.name == "postgresql":
            days = {t.date() for t in times} - self._partitioned
            if days:
                self.ensure_partitions(days)

    def insert_shadow_predictions(self, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Store challenger scores; idempotent on (transaction_id, model_version)."""
        columns = validate(shadow_predictions, rows)
        with self._write() as conn:
            return bulk.insert(
                conn, shadow_predictions, columns, conflict=("transaction_id", "model_version")
            )

    def count_predictions(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(predictions)).scalar_one()

    def predictions_between(
        self, start: datetime, end: datetime, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Predictions with start <= event_time < end, oldest first; `features` as dicts; only
        `columns` when given."""
        p = predictions.c
        stmt = (
            select(*([p[c] for c in columns] if columns else [predictions]))
            .where(p.event_time >= to_utc(start), p.event_time < to_utc(end))
            .order_by(p.event_time, p.id)
        )
        with self.engine.connect() as conn:
            return read_frame(conn, stmt)

    def latest_predictions(
        self, before: datetime, rows: int, since: datetime, columns: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The last `rows` predictions with since <= event_time < before, oldest first (an
        index scan from the newest row: the window's older rows are never read)."""
        p = predictions.c
        selected = [p[c] for c in columns] if columns else [predictions]
        newest = (
            select(*selected)
            .where(p.event_time >= to_utc(since), p.event_time < to_utc(before))
            .order_by(p.event_time.desc(), p.id.desc())
            .limit(rows)
        )
        with self.engine.connect() as conn:
            frame = read_frame(conn, newest)
        return frame.iloc[::-1].reset_index(drop=True)

    def day_counts(self, start: datetime, end: datetime) -> dict[str, tuple[int, int, str]]:
        """Rows, largest id and largest transaction_id per UTC day ('YYYY-MM-DD') of the
        predictions in [start, end): what a copy of those days must match to be current. A day
        retention dropped is left out: its lake copy stays the reference (a row logged for it
        afterwards stays in the store only, and never replaces that copy)."""
        a = audit_log.c
        first, last = (f"{RETIRED_SUBJECT}{t:%Y-%m-%d}" for t in (to_utc(start), to_utc(end)))
        retired = select(a.subject).where(
            a.action == RETIRED_ACTION, a.subject >= first, a.subject <= last
        )
        with self.engine.connect() as conn:
            dropped = {s.removeprefix(RETIRED_SUBJECT) for s in conn.scalars(retired)}
            counts = _day_counts(conn, start, end)
        return {day: held for day, held in counts.items() if day not in dropped}

    def oldest_prediction_time(self) -> datetime | None:
        """The event time of the oldest prediction the store holds (None when empty)."""
        with self.engine.connect() as conn:
            return conn.scalar(select(func.min(predictions.c.event_time)))

    def retire_day(
        self, day: date, expected: tuple[int, int, str], actor: str, reason: str
    ) -> str | None:
        """Drop every prediction of UTC day `day` if the day still holds exactly `expected`
        (rows, largest id, largest transaction id: the lake's manifest), and audit it, in one
        transaction (PostgreSQL: the table is locked meanwhile, so no row can slip in between
        the check and the drop). Returns how it was dropped, None (nothing changed) when the
        day differs. Keys, and label events, stay."""
        start, end = partitions.day_bounds(day)
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"LOCK TABLE {predictions.name} IN ACCESS EXCLUSIVE MODE")
            held = _day_counts(conn, start, end).get(f"{day:%Y-%m-%d}")
            if held != tuple(expected):
                return None
            removed, how = partitions.drop_day(conn, day)
            rows, max_id, max_transaction_id = expected
            details = dict(
                day=f"{day:%Y-%m-%d}", rows=removed, max_id=max_id,
                max_transaction_id=max_transaction_id, how=how,
            )  # fmt: skip
            subject = f"{RETIRED_SUBJECT}{day:%Y-%m-%d}"
            self.append_audit(actor, RETIRED_ACTION, subject, reason, details, held=HeldLock(conn))
            self._partitioned.discard(day)
            return how

    def retire_keys(self, before: datetime, actor: str, reason: str) -> int:
        """Drop the keys of transactions logged before `before` whose prediction a retired day
        took and that no label event names (a label for one is then refused as unknown), and
        audit how many, in one transaction. Returns that number."""
        k, p, le = prediction_ids.c, predictions.c, label_events.c
        cutoff = to_utc(before)
        stmt = prediction_ids.delete().where(
            k.event_time < cutoff,
            ~select(le.id).where(le.transaction_id == k.transaction_id).exists(),
            ~select(p.id)
            .where(p.transaction_id == k.transaction_id, p.event_time < cutoff)
            .exists(),
        )
        with self._write() as conn:
            removed = conn.execute(stmt).rowcount
            if removed:
                details = {"before": cutoff.isoformat(), "keys": removed}
                subject = f"{prediction_ids.name}/before={cutoff:%Y-%m-%d}"
                self.append_audit(
                    actor, "retire_keys", subject, reason, details, held=HeldLock(conn)
                )
            return removed

    def deciding_labels(self, start: datetime, end: datetime, as_of: datetime) -> pd.DataFrame:
        """The deciding label event as of `as_of` of each prediction with start <= event_time <
        end that has one: `id` (of the prediction), `label`, `label_source`, `label_reported_at`;
        the same precedence as `training_data` (fraud first, then earliest report)."""
        le, k = label_events.c, prediction_ids.c
        stmt = (
            select(
                k.prediction_id.label("id"),
                le.label,
                le.source.label("label_source"),
                le.reported_at.label("label_reported_at"),
                le.id.label("event_id"),
            )
            .select_from(label_events.join(prediction_ids, k.transaction_id == le.transaction_id))
            .where(
                k.event_time >= to_utc(start),
                k.event_time < to_utc(end),
                le.reported_at <= to_utc(as_of),
            )
        )
        with self.engine.connect() as conn:
            events = read_frame(conn, stmt)
        events = events.assign(rank=(events["label"] != "fraud").astype(int)).sort_values(
            ["id", "rank", "label_reported_at", "event_id"], kind="stable"
        )
        events = events.drop_duplicates("id").drop(columns=["rank", "event_id"])
        return events.reset_index(drop=True)

    def fraud_report_delays(self, start: datetime, end: datetime, as_of: datetime) -> np.ndarray:
        """Days from payment to its first fraud report, for each prediction with start <=
        event_time < end reported as fraud by `as_of` (sorted): how late fraud comes in."""
        import numpy as np

        le, k = label_events.c, prediction_ids.c
        stmt = (
            select(k.event_time, func.min(le.reported_at).label("reported_at"))
            .select_from(label_events.join(prediction_ids, k.transaction_id == le.transaction_id))
            .where(
                le.label == "fraud",
                k.event_time >= to_utc(start),
                k.event_time < to_utc(end),
                le.reported_at <= to_utc(as_of),
            )
            .group_by(k.transaction_id, k.event_time)
        )
        with self.engine.connect() as conn:
            frame = read_frame(conn, stmt)
        days = (frame["reported_at"] - frame["event_time"]).dt.total_seconds() / 86_400
        return np.sort(days.to_numpy(np.float64))

    # -- labels -----------------------------------------------------------------------------

    def upsert_labels(self, rows: Iterable[Mapping[str, Any]]) -> LabelUpsertResult:
        """Store label events, idempotent on (transaction_id, source).

        Each row has transaction_id, label ('fraud'|'legit'), source, reported_at and
        optionally received_at (default now) and details. Re-posting an identical label
        changes nothing; a changed label, reported_at or details updates the event. Bad rows
        (missing field, invalid value, unknown transaction_id) are rejected with a reason and
        the rest of the batch is stored. Rows are applied in order.
        """
        now = utcnow()
        rejected: list[RejectedLabel] = []
        candidates: list[tuple[int, dict[str, Any]]] = []
        for index, row in enumerate(rows):
            try:
                candidates.append((index, label_row(row, now)))
            except ValueError as exc:
                tid = row.get("transaction_id") if isinstance(row, Mapping) else None
                rejected.append(
                    RejectedLabel(index, tid if isinstance(tid, str) else None, str(exc))
                )
        with self._write() as conn:
            ids = sorted({record["transaction_id"] for _, record in candidates})
            known, stored = _label_state(conn, ids)
            inserted = updated = 0
            changed: dict[tuple[str, str], dict[str, Any]] = {}
            for index, record in candidates:
                tid = record["transaction_id"]
                if tid not in known:
                    rejected.append(RejectedLabel(index, tid, "unknown transaction_id"))
                    continue
                key = (tid, record["source"])
                current = stored.get(key)
                if current is None:
                    inserted += 1
                elif any(current[f] != record[f] for f in ("label", "reported_at", "details")):
                    updated += 1
                else:
                    continue
                stored[key] = changed[key] = record
            if changed:
                stmt = self._upsert(label_events)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["transaction_id", "source"],
                    set_={f: stmt.excluded[f] for f in LABEL_UPDATED},
                )
                conn.execute(stmt, list(changed.values()))
        rejected.sort(key=lambda r: r.index)
        return LabelUpsertResult(inserted, updated, rejected)

    def label_events(self, since: datetime | None = None) -> pd.DataFrame:
        """Label events received at or after `since` (all when None), oldest first."""
        le = label_events.c
        stmt = select(label_events).order_by(le.received_at, le.id)
        if since is not None:
            stmt = stmt.where(le.received_at >= to_utc(since))
        with self.engine.connect() as conn:
            return read_frame(conn, stmt)

    def training_data(
        self, days: int, end: datetime | None = None, as_of: datetime | None = None
    ) -> pd.DataFrame:
        """Predictions with event_time in [end - days, end), each with its label as of `as_of`.

        One row per prediction, ordered by (event_time, id): the prediction columns, `features`
        as a dict column (`features_frame` makes the matrix), and `label` ('fraud' if any fraud
        event was reported by `as_of`, else 'legit' if a legit one was, else None), with
        `label_source` and `label_reported_at` of the deciding event (the earliest reported
        event of that label). Known by `as_of` means reported_at <= as_of. `end` defaults to
        now, `as_of` to `end`. One SQL query; rows are sorted here (sorting wide rows in the
        database spills to disk).
        """
        end = to_utc(end) if end is not None else utcnow()
        as_of = to_utc(as_of) if as_of is not None else end
        p = predictions.c
        deciding, on = self._deciding_labels(as_of)
        stmt = (
            select(
                predictions,
                deciding.c.label,
                deciding.c.source.label("label_source"),
                deciding.c.reported_at.label("label_reported_at"),
            )
            .select_from(predictions.outerjoin(deciding, on))
            .where(p.event_time >= end - timedelta(days=days), p.event_time < end)
        )
        with self.engine.connect() as conn:
            frame = read_frame(conn, stmt)
        return frame.sort_values(["event_time", "id"], kind="stable", ignore_index=True)

    def _deciding_labels(self, as_of: datetime) -> tuple[FromClause, ColumnElement[bool]]:
        """The label event deciding each prediction's label as of `as_of`, and the join clause.

        PostgreSQL: a LATERAL lookup per prediction on the (transaction_id, source) index, a
        plan that needs no statistics (with stale ones, a join against a ranked subquery
        degrades into a nested loop over every label event). SQLite: a ranked subquery.
        """
        le, tid = label_events.c, predictions.c.transaction_id
        columns = (le.transaction_id, le.label, le.source, le.reported_at)
        precedence = (case((le.label == "fraud", 0), else_=1), le.reported_at, le.id)
        known = select(*columns).where(le.reported_at <= as_of)
        if self.engine.dialect.name == "postgresql":
            lookup = known.where(le.transaction_id == tid).order_by(*precedence).limit(1)
            return lookup.lateral(), true()
        rank = func.row_number().over(partition_by=le.transaction_id, order_by=precedence)
        ranked = known.add_columns(rank.label("rank")).subquery()
        deciding = select(*(ranked.c[c.key] for c in columns)).where(ranked.c.rank == 1)
        subquery = deciding.subquery()
        return subquery, subquery.c.transaction_id == tid

    # -- audit ------------------------------------------------------------------------------

    def append_audit(
        self,
        actor: str,
        action: str,
        subject: str,
        reason: str,
        details: Mapping[str, Any],
        *,
        held: HeldLock | None = None,
    ) -> int:
        """Append one audit entry (timestamped now), chained to the previous one; returns its id.
        Entries never change. Appends are serialized so that the chain never forks; while
        holding a store lock, pass it as `held` (its connection writes the entry)."""
        details = json_safe(dict(details))  # no NaN/inf: JSONB refuses them
        row = dict(actor=actor, action=action, subject=subject, reason=reason, details=details)
        (record,) = _records(validate(audit_log, [row], defaults={"at": utcnow()}))
        with held.write() if held is not None else self._write() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(
                    f"SELECT pg_advisory_xact_lock({advisory_key_sql('fraud-audit-chain')})"
                )
            a = audit_log.c
            record["at"] = utcnow()  # taken in chain order
            previous = conn.scalar(select(a.chain_hash).order_by(a.id.desc()).limit(1))
            record["chain_hash"] = audit_chain.entry_hash(previous or audit_chain.GENESIS, record)
            return conn.execute(insert(audit_log).values(record)).inserted_primary_key[0]

    def verify_audit_chain(self) -> audit_chain.ChainReport:
        """Recompute the audit chain from the first entry; the report names the first bad one."""
        a = audit_log.c
        columns = (a.id, *(a[name] for name in audit_chain.HASHED), a.chain_hash)
        with self.engine.connect() as conn:
            rows = conn.execution_options(yield_per=1000).execute(select(*columns).order_by(a.id))
            return audit_chain.verify(rows.mappings())

    def lock(self, name: str) -> AbstractContextManager[HeldLock]:
        """Hold the store-wide lock `name` (see `store/locks.py`) for the `with` block."""
        return hold(self.engine, name)

    def audit_entries(
        self, subject: str | None = None, action: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Audit entries, newest first, optionally for one subject and/or action."""
        a = audit_log.c
        stmt = select(audit_log).order_by(a.at.desc(), a.id.desc()).limit(limit)
        if subject is not None:
            stmt = stmt.where(a.subject == subject)
        if action is not None:
            stmt = stmt.where(a.action == action)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    # -- monitoring -------------------------------------------------------------------------

    def write_metrics(self, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> int:
        """Store metric values (metric, value, window_start, window_end, source, and optional
        model_version, variant, segment, feature; computed_at defaults to now)."""
        columns = validate(monitoring_metrics, rows, defaults={"computed_at": utcnow()})
        with self._write() as conn:
            return bulk.insert(conn, monitoring_metrics, columns)

    def latest_metrics(
        self, metric: str | None = None, since: datetime | None = None
    ) -> pd.DataFrame:
        """The latest row per (metric, model_version, variant, segment, feature), computed at
        or after `since` when given."""
        m = monitoring_metrics.c
        rank = (
            func.row_number()
            .over(
                partition_by=(m.metric, m.model_version, m.variant, m.segment, m.feature),
                order_by=(m.computed_at.desc(), m.id.desc()),
            )
            .label("rank")
        )
        inner = select(monitoring_metrics, rank)
        if metric is not None:
            inner = inner.where(m.metric == metric)
        if since is not None:
            inner = inner.where(m.computed_at >= to_utc(since))
        ranked = inner.subquery()
        keys = ("metric", "model_version", "variant", "segment", "feature")
        stmt = (
            select(*(ranked.c[c.name] for c in monitoring_metrics.columns))
            .where(ranked.c.rank == 1)
            .order_by(*(ranked.c[k] for k in keys))
        )
        with self.engine.connect() as conn:
            return read_frame(conn, stmt)

    def metrics_history(
        self,
        metrics: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> pd.DataFrame:
        """Every stored value of `metrics` (all when None) whose window ends in [since, until),
        oldest computation first: trends, where `latest_metrics` keeps one row per series."""
        m = monitoring_metrics.c
        stmt = select(monitoring_metrics).order_by(m.computed_at, m.id)
        if metrics is not None:
            stmt = stmt.where(m.metric.in_(list(metrics)))
        if since is not None:
            stmt = stmt.where(m.window_end >= to_utc(since))
        if until is not None:
            stmt = stmt.where(m.window_end < to_utc(until))
        with self.engine.connect() as conn:
            return read_frame(conn, stmt)

    def count_decisions(self, start: datetime, end: datetime) -> dict[str, int]:
        """Predictions with start <= event_time < end, counted per decision."""
        p = predictions.c
        stmt = (
            select(p.decision, func.count())
            .where(p.event_time >= to_utc(start), p.event_time < to_utc(end))
            .group_by(p.decision)
        )
        with self.engine.connect() as conn:
            return {decision: int(n) for decision, n in conn.execute(stmt)}

    # -- contextual thresholds --------------------------------------------------------------

    def save_policy_arms(
        self,
        policy_version: str,
        arms: Iterable[Mapping[str, Any] | ThresholdArm],
        model_version: str | None = None,
    ) -> int:
        """Create or update the arms of `policy_version` (keyed by segment and threshold),
        learned on the scores of `model_version`.

        Each arm has segment, threshold, alpha, beta and optionally pulls (0), reward (0.0)
        and updated_at (now). Returns the number of arms written.
        """
        rows = []
        for arm in arms:
            row = asdict(arm) if isinstance(arm, ThresholdArm) else dict(arm)
            if row.setdefault("policy_version", policy_version) != policy_version:
                raise RowError(f"policy_arms: arm {row} belongs to another policy version")
            if row.get("model_version") is None:
                row["model_version"] = model_version
            elif row["model_version"] != model_version:
                raise RowError(f"policy_arms: arm {row} was learned for another model")
            rows.append(row)
        records = _records(validate(policy_arms, rows, defaults={"updated_at": utcnow()}))
        if not records:
            return 0
        stmt = self._upsert(policy_arms)
        stmt = stmt.on_conflict_do_update(
            index_elements=["policy_version", "segment", "threshold"],
            set_={f: stmt.excluded[f] for f in ("alpha", "beta", "pulls", "reward", "updated_at")},
        )
        with self._write() as conn:
            conn.execute(stmt, records)
        return len(records)

    def load_policy_arms(
        self, policy_version: str | None = None, *, model_version: str | None = None
    ) -> list[ThresholdArm]:
        """The arms of `policy_version` (default: the most recently updated version, of
        `model_version` when given)."""
        pa = policy_arms.c
        with self.engine.connect() as conn:
            if policy_version is None:
                latest = select(pa.policy_version).order_by(pa.updated_at.desc(), pa.id.desc())
                if model_version is not None:
                    latest = latest.where(pa.model_version == model_version)
                policy_version = conn.scalar(latest.limit(1))
                if policy_version is None:
                    return []
            rows = conn.execute(
                select(*(pa[f] for f in ThresholdArm.__dataclass_fields__))
                .where(pa.policy_version == policy_version)
                .order_by(pa.segment, pa.threshold)
            ).mappings()
            return [ThresholdArm(**row) for row in rows]
