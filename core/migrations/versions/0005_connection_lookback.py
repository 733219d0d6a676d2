"""A per-connection look-back window for incremental syncs (connections.lookback_minutes).

Revision ID: 0005_connection_lookback
Revises: 0002_rate_budgets
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_connection_lookback"
down_revision = "0002_rate_budgets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookback_minutes", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_column("lookback_minutes")
