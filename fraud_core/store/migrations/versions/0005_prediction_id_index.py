"""On SQLite, a unique index on `prediction_ids.prediction_id`: a new batch's ids start after the
largest one used (`store/keys.py: draw_ids`), and without the index that `max()` scanned every
key at each log flush, growing with the store (21.6 s of the 37 s scoring path of a 20-day
replay at 5,000 payments a day); it also makes an id drawn twice an error. PostgreSQL draws ids
from a sequence and needs neither: there the index only cost the bulk seed ~3 % (20 days at
50,000 a day: 56.8 s against 55.1 s).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(
            "ix_prediction_ids_prediction_id", "prediction_ids", ["prediction_id"], unique=True
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_prediction_ids_prediction_id", "prediction_ids")
