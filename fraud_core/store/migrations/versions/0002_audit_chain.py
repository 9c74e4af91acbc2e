"""Audit chain: `audit_log.chain_hash`, each entry's hash chained to the previous entry's.

Entries already stored are hashed in id order (the append-only triggers are lifted for that
update only, inside this migration's transaction).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from fraud_core.store.audit_chain import GENESIS, entry_hash

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_APPEND_ONLY = """
CREATE TRIGGER audit_log_no_{op} BEFORE {OP} ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: {OP} refused'); END
"""
COLUMNS = ("id", "at", "actor", "action", "subject", "reason", "details")


def _backfill(conn: sa.Connection) -> None:
    audit = sa.table(
        "audit_log",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        *(sa.column(name, sa.String()) for name in ("actor", "action", "subject", "reason")),
        sa.column("details", sa.JSON()),
        sa.column("chain_hash", sa.String()),
    )
    previous = GENESIS
    rows = conn.execute(sa.select(*(audit.c[n] for n in COLUMNS)).order_by(audit.c.id))
    for row in rows.mappings().all():
        previous = entry_hash(previous, row)
        conn.execute(audit.update().where(audit.c.id == row["id"]).values(chain_hash=previous))


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("chain_hash", sa.String(64), nullable=True))
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        _backfill(conn)
        op.execute("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        return
    op.execute("DROP TRIGGER audit_log_no_update")
    _backfill(conn)
    op.execute(SQLITE_APPEND_ONLY.format(op="update", OP="UPDATE"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("chain_hash")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("update", "delete"):
            op.execute(SQLITE_APPEND_ONLY.format(op=name, OP=name.upper()))
