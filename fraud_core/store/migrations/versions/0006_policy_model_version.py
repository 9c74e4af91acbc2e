"""`policy_arms.model_version`: the model whose scores a policy version's thresholds were cut
on, so that each served model (champion, canary, shadowed challenger) is decided at its own
learned thresholds. Existing versions get the model their `policy.update` audit entry names.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("policy_arms") as batch:
        batch.add_column(sa.Column("model_version", sa.String(32), nullable=True))
        batch.create_index("ix_policy_arms_model_version", ["model_version"])
    conn = op.get_bind()
    entries = conn.execute(
        sa.text("SELECT details FROM audit_log WHERE action = 'policy.update'")
    ).scalars()
    for details in entries:
        details = json.loads(details) if isinstance(details, str) else details
        version, model = details.get("policy_version"), details.get("model_version")
        if version and model:
            conn.execute(
                sa.text(
                    "UPDATE policy_arms SET model_version = :model WHERE policy_version = :version"
                ),
                {"model": str(model), "version": version},
            )


def downgrade() -> None:
    with op.batch_alter_table("policy_arms") as batch:
        batch.drop_index("ix_policy_arms_model_version")
        batch.drop_column("model_version")
