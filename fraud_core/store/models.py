"""SQLAlchemy 2 models of the feedback store (the Alembic revisions create the same schema)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fraud_core import clock

DECISIONS = ("approve", "block")
VARIANTS = ("champion", "canary")
LABELS = ("fraud", "legit")

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON().with_variant(JSONB(), "postgresql")
Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys


def to_utc(value: datetime) -> datetime:
    """Timezone-aware UTC; a naive datetime is taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The platform's now (`fraud_core.clock`: simulated in replays)."""
    return clock.now()


class UTCDateTime(TypeDecorator[datetime]):
    """`timestamptz` that always binds and returns aware UTC (SQLite stores UTC wall time)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else to_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else to_utc(value)


def one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """CHECK that `column` holds one of `values` (constant, trusted strings)."""
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class PredictionKey(Base):
    """The key of every prediction logged: one row per transaction id, kept when retention drops
    the prediction's day, so ids stay unique and label events keep their foreign key. On SQLite
    migration 0005 indexes `prediction_id` (unique), from which new ids are drawn."""

    __tablename__ = "prediction_ids"

    transaction_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    prediction_id: Mapped[int] = mapped_column(BigInteger)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)


class Prediction(Base):
    """One scored request: inputs (hashed), features, score, decision and policy context.

    On PostgreSQL the table is range-partitioned by day on `event_time` (primary key (id,
    event_time), see `store/partitions.py`); transaction ids are unique in `prediction_ids`,
    whose row the store writes first (`store/keys.py`; no foreign key: its check per row cost
    a quarter of the bulk load).
    """

    __tablename__ = "predictions"
    __table_args__ = (
        one_of("decision", DECISIONS),
        one_of("variant", VARIANTS),
        CheckConstraint("propensity > 0 AND propensity <= 1", name="propensity"),
        # release windows: a stage's rows since it began, its counts read from the index alone
        Index(None, "scored_at", "variant", "model_version", "decision"),
        # event-time windows; the lake's per-day counts (rows, largest id and transaction id)
        # read from the index alone
        Index(None, "event_time", "transaction_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64), index=True)  # key: prediction_ids
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customer_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(3))
    amount_usd: Mapped[float] = mapped_column(Float)
    payment_method: Mapped[str] = mapped_column(String(32))
    wallet_provider: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    card_present: Mapped[bool] = mapped_column(Boolean)
    customer_country: Mapped[str] = mapped_column(String(2))
    merchant_country: Mapped[str] = mapped_column(String(2))
    merchant_category: Mapped[str] = mapped_column(String(32))
    features: Mapped[dict[str, float]] = mapped_column(Json, info={"kind": "features"})
    feature_version: Mapped[str] = mapped_column(String(16))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(8), info={"choices": DECISIONS})
    model_version: Mapped[str] = mapped_column(String(32))
    variant: Mapped[str] = mapped_column(String(16), info={"choices": VARIANTS})
    segment: Mapped[str] = mapped_column(String(64))
    explored: Mapped[bool] = mapped_column(Boolean, default=False)
    propensity: Mapped[float] = mapped_column(Float, default=1.0)
    policy_version: Mapped[str | None] = mapped_column(String(32))


class ShadowPrediction(Base):
    """A challenger's score on the same request; may arrive before the main row (no FK)."""

    __tablename__ = "shadow_predictions"
    # The unique index leads with transaction_id, so it also serves lookups by transaction.
    __table_args__ = (
        UniqueConstraint("transaction_id", "model_version"),
        Index(None, "model_version", "scored_at"),  # a challenger's shadow rows since a time
        one_of("decision", DECISIONS),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(64))
    event_time: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime)
    model_version: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    decision: Mapped[str] = mapped_column(String(8), info={"choices": DECISIONS})


class LabelEvent(Base):
    """A verified outcome from one source; one row per (transaction, source)."""

    __tablename__ = "label_events"
    __table_args__ = (UniqueConstraint("transaction_id", "source"), one_of("label", LABELS))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    transaction_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("prediction_ids.transaction_id")
    )
    label: Mapped[str] = mapped_column(String(8), info={"choices": LABELS})
    source: Mapped[str] = mapped_column(String(32))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    details: Mapped[dict[str, Any] | None] = mapped_column(Json)


class AuditEntry(Base):
    """Append-only record of decisions about models and policies (triggers refuse changes),
    hash-chained entry to entry."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(Json)
    chain_hash: Mapped[str | None] = mapped_column(String(64))  # see store/audit_chain.py


class PolicyArm(Base):
    """Thompson-sampling state of one threshold arm in one segment of a policy version."""

    __tablename__ = "policy_arms"
    __table_args__ = (UniqueConstraint("policy_version", "segment", "threshold"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    policy_version: Mapped[str] = mapped_column(String(32))
    model_version: Mapped[str | None] = mapped_column(String(32), index=True)
    """The model whose scores the thresholds were cut on (None: unrecorded, before 0006)."""
    segment: Mapped[str] = mapped_column(String(64))
    threshold: Mapped[float] = mapped_column(Float)
    alpha: Mapped[float] = mapped_column(Float)
    beta: Mapped[float] = mapped_column(Float)
    pulls: Mapped[int] = mapped_column(BigInteger, default=0)
    reward: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MonitoringMetric(Base):
    """One computed value (FPR, drift score, ...) over a window, tagged with what it is about."""

    __tablename__ = "monitoring_metrics"
    __table_args__ = (Index(None, "metric", "computed_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(32))
    variant: Mapped[str | None] = mapped_column(String(16))
    segment: Mapped[str | None] = mapped_column(String(64))
    feature: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))


prediction_ids = PredictionKey.__table__
predictions = Prediction.__table__
shadow_predictions = ShadowPrediction.__table__
label_events = LabelEvent.__table__
audit_log = AuditEntry.__table__
policy_arms = PolicyArm.__table__
monitoring_metrics = MonitoringMetric.__table__
