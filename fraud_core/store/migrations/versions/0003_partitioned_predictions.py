"""Prediction keys, and `predictions` partitioned by day on PostgreSQL.

`prediction_ids` (transaction_id primary key, prediction_id, event_time) holds every logged
prediction's key: transaction ids stay unique, and label events keep their foreign key, once
retention drops a day of `predictions`. `label_events.transaction_id` now references it;
`predictions` keeps a plain index on transaction_id, and no foreign key to the keys (its check
cost 12-25 µs a row of a 43-55 µs COPY here): the store writes each key before its
prediction, in the same transaction (`store/keys.py`).

PostgreSQL: `predictions` becomes a table range-partitioned on `event_time` (primary key (id,
event_time), the id sequence kept), with one partition per UTC day that holds rows and a
default partition; existing rows are copied over. SQLite: the same table, unpartitioned.
Alembic runs the whole revision in one transaction (PostgreSQL DDL is transactional, SQLite
rebuilds tables inside it): a migration killed half-way leaves the store as it was.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence
from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "predictions_unpartitioned"
LABEL_FK_OLD = "fk_label_events_transaction_id_predictions"
LABEL_FK = "fk_label_events_transaction_id_prediction_ids"
KEY_COPY = (
    "INSERT INTO prediction_ids (transaction_id, prediction_id, event_time) "
    "SELECT transaction_id, id, event_time FROM predictions"
)


def upgrade() -> None:
    op.create_table(
        "prediction_ids",
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("prediction_id", sa.BigInteger(), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transaction_id", name="pk_prediction_ids"),
    )
    op.execute(KEY_COPY)
    with op.batch_alter_table("label_events") as batch:
        batch.drop_constraint(LABEL_FK_OLD, type_="foreignkey")
        batch.create_foreign_key(LABEL_FK, "prediction_ids", ["transaction_id"], ["transaction_id"])
    if op.get_bind().dialect.name == "postgresql":
        _partition_predictions()
        return
    with op.batch_alter_table("predictions") as batch:
        batch.drop_constraint("uq_predictions_transaction_id", type_="unique")
    op.create_index("ix_predictions_transaction_id", "predictions", ["transaction_id"])


def _partition_predictions() -> None:
    """Rebuild `predictions` as a partitioned table holding the same rows and ids."""
    conn = op.get_bind()
    op.execute(f"ALTER TABLE predictions RENAME TO {OLD}")
    op.execute(f"ALTER TABLE {OLD} DROP CONSTRAINT pk_predictions")
    op.execute(f"ALTER TABLE {OLD} DROP CONSTRAINT uq_predictions_transaction_id")
    op.execute("DROP INDEX ix_predictions_event_time")
    op.execute("ALTER SEQUENCE predictions_id_seq OWNED BY NONE")
    op.execute(
        f"CREATE TABLE predictions (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        "PARTITION BY RANGE (event_time)"
    )
    op.execute("ALTER SEQUENCE predictions_id_seq OWNED BY predictions.id")
    op.execute("CREATE TABLE predictions_default PARTITION OF predictions DEFAULT")
    days = conn.exec_driver_sql(
        f"SELECT DISTINCT (event_time AT TIME ZONE 'UTC')::date AS day FROM {OLD} ORDER BY day"
    ).scalars()
    for day in days:
        op.execute(
            f"CREATE TABLE predictions_p{day:%Y%m%d} PARTITION OF predictions FOR VALUES "
            f"FROM ('{day} 00:00:00+00') TO ('{day + timedelta(days=1)} 00:00:00+00')"
        )
    op.execute(f"INSERT INTO predictions SELECT * FROM {OLD}")  # same columns, same order
    op.execute(f"DROP TABLE {OLD}")
    # Keys and indexes after the copy: built once, not row by row.
    op.execute("ALTER TABLE predictions ADD CONSTRAINT pk_predictions PRIMARY KEY (id, event_time)")
    op.create_index("ix_predictions_event_time", "predictions", ["event_time"])
    op.create_index("ix_predictions_transaction_id", "predictions", ["transaction_id"])


def downgrade() -> None:
    conn = op.get_bind()
    orphans = conn.exec_driver_sql(
        "SELECT count(*) FROM label_events le WHERE NOT EXISTS "
        "(SELECT 1 FROM predictions p WHERE p.transaction_id = le.transaction_id)"
    ).scalar_one()
    if orphans:
        raise RuntimeError(
            f"cannot downgrade below 0003: {orphans} label event(s) belong to predictions whose "
            "day retention dropped (the earlier schema needs each one's prediction row)"
        )
    with op.batch_alter_table("label_events") as batch:
        batch.drop_constraint(LABEL_FK, type_="foreignkey")
    if conn.dialect.name == "postgresql":
        _unpartition_predictions()
    else:
        op.drop_index("ix_predictions_transaction_id", "predictions")
        with op.batch_alter_table("predictions") as batch:
            batch.create_unique_constraint("uq_predictions_transaction_id", ["transaction_id"])
    with op.batch_alter_table("label_events") as batch:
        batch.create_foreign_key(
            LABEL_FK_OLD, "predictions", ["transaction_id"], ["transaction_id"]
        )
    op.drop_table("prediction_ids")


def _unpartition_predictions() -> None:
    op.execute(f"CREATE TABLE {OLD} (LIKE predictions INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    op.execute("ALTER SEQUENCE predictions_id_seq OWNED BY NONE")
    op.execute(f"INSERT INTO {OLD} SELECT * FROM predictions")
    op.execute("DROP TABLE predictions")  # and its partitions
    op.execute(f"ALTER TABLE {OLD} RENAME TO predictions")
    op.execute("ALTER SEQUENCE predictions_id_seq OWNED BY predictions.id")
    op.execute("ALTER TABLE predictions ADD CONSTRAINT pk_predictions PRIMARY KEY (id)")
    op.create_unique_constraint("uq_predictions_transaction_id", "predictions", ["transaction_id"])
    op.create_index("ix_predictions_event_time", "predictions", ["event_time"])
