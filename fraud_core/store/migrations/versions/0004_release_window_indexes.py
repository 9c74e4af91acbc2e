"""Indexes for the release sensors' windows: `predictions.scored_at` (a stage's rows since it
began) and `shadow_predictions (model_version, scored_at)` (a challenger's shadow rows). Without
them every sensor tick scanned the whole online log (0.1 s a query at 100k rows, linear).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_predictions_scored_at", "predictions", ["scored_at"])
    op.create_index(
        "ix_shadow_predictions_model_version_scored_at",
        "shadow_predictions",
        ["model_version", "scored_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_shadow_predictions_model_version_scored_at", "shadow_predictions")
    op.drop_index("ix_predictions_scored_at", "predictions")
