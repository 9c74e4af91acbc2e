"""Initial feedback store: predictions, shadow predictions, labels, audit, policy, metrics.

Revision ID: 0001
Revises:
Create Date: 2025-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", ID, primary_key=True, autoincrement=True)


def _time(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _str(name: str, length: int, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _float(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=False)


DECISION_CHECK = "decision IN ('approve', 'block')"
# Constraint names below are final (op.f): the metadata's naming convention must not re-apply.

PG_APPEND_ONLY = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""
SQLITE_APPEND_ONLY = """
CREATE TRIGGER audit_log_no_{op} BEFORE {OP} ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {OP} refused'); END
"""


def upgrade() -> None:
    op.create_table(
        "predictions",
        _id(),
        _str("transaction_id", 64),
        _time("event_time"),
        _time("scored_at"),
        _str("customer_hash", 64),
        _float("amount"),
        _str("currency", 3),
        _float("amount_usd"),
        _str("payment_method", 32),
        _str("wallet_provider", 32, nullable=True),
        _str("channel", 16),
        sa.Column("card_present", sa.Boolean(), nullable=False),
        _str("customer_country", 2),
        _str("merchant_country", 2),
        _str("merchant_category", 32),
        sa.Column("features", JSON, nullable=False),
        _str("feature_version", 16),
        _float("score"),
        _float("threshold"),
        _str("decision", 8),
        _str("model_version", 32),
        _str("variant", 16),
        _str("segment", 64),
        sa.Column("explored", sa.Boolean(), nullable=False),
        _float("propensity"),
        _str("policy_version", 32, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_predictions"),
        sa.UniqueConstraint("transaction_id", name="uq_predictions_transaction_id"),
        sa.CheckConstraint(DECISION_CHECK, name=op.f("ck_predictions_decision")),
        sa.CheckConstraint(
            "variant IN ('champion', 'canary')", name=op.f("ck_predictions_variant")
        ),
        sa.CheckConstraint(
            "propensity > 0 AND propensity <= 1", name=op.f("ck_predictions_propensity")
        ),
    )
    op.create_index("ix_predictions_event_time", "predictions", ["event_time"])

    op.create_table(
        "shadow_predictions",
        _id(),
        _str("transaction_id", 64),
        _time("event_time"),
        _time("scored_at"),
        _str("model_version", 32),
        _float("score"),
        _float("threshold"),
        _str("decision", 8),
        sa.PrimaryKeyConstraint("id", name="pk_shadow_predictions"),
        sa.UniqueConstraint(
            "transaction_id",
            "model_version",
            name="uq_shadow_predictions_transaction_id_model_version",
        ),
        sa.CheckConstraint(DECISION_CHECK, name=op.f("ck_shadow_predictions_decision")),
    )
    op.create_index("ix_shadow_predictions_event_time", "shadow_predictions", ["event_time"])

    op.create_table(
        "label_events",
        _id(),
        _str("transaction_id", 64),
        _str("label", 8),
        _str("source", 32),
        _time("reported_at"),
        _time("received_at"),
        sa.Column("details", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_label_events"),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["predictions.transaction_id"],
            name="fk_label_events_transaction_id_predictions",
        ),
        sa.UniqueConstraint(
            "transaction_id", "source", name="uq_label_events_transaction_id_source"
        ),
        sa.CheckConstraint("label IN ('fraud', 'legit')", name=op.f("ck_label_events_label")),
    )
    op.create_index("ix_label_events_received_at", "label_events", ["received_at"])

    op.create_table(
        "audit_log",
        _id(),
        _time("at"),
        _str("actor", 64),
        _str("action", 64),
        _str("subject", 128),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_APPEND_ONLY)
    else:
        for name in ("update", "delete"):
            op.execute(SQLITE_APPEND_ONLY.format(op=name, OP=name.upper()))

    op.create_table(
        "policy_arms",
        _id(),
        _str("policy_version", 32),
        _str("segment", 64),
        _float("threshold"),
        _float("alpha"),
        _float("beta"),
        sa.Column("pulls", sa.BigInteger(), nullable=False),
        _float("reward"),
        _time("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_arms"),
        sa.UniqueConstraint(
            "policy_version",
            "segment",
            "threshold",
            name="uq_policy_arms_policy_version_segment_threshold",
        ),
    )

    op.create_table(
        "monitoring_metrics",
        _id(),
        _time("computed_at"),
        _time("window_start"),
        _time("window_end"),
        _str("metric", 64),
        _float("value"),
        _str("model_version", 32, nullable=True),
        _str("variant", 16, nullable=True),
        _str("segment", 64, nullable=True),
        _str("feature", 64, nullable=True),
        _str("source", 64),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_metrics"),
    )
    op.create_index(
        "ix_monitoring_metrics_metric_computed_at", "monitoring_metrics", ["metric", "computed_at"]
    )


def downgrade() -> None:
    for table in (
        "monitoring_metrics",
        "policy_arms",
        "audit_log",
        "label_events",
        "shadow_predictions",
        "predictions",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_log_append_only()")
