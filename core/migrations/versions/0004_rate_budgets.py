"""Rate budgets shared by the worker processes of one CRM account.

Revision ID: 0002_rate_budgets
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002_rate_budgets"
down_revision = "0002_user_kpis"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_budgets",
        sa.Column("account_key", sa.String(length=500), nullable=False),
        sa.Column("budget", sa.String(length=64), nullable=False),
        sa.Column(
            "starts",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("account_key", "budget", name=op.f("pk_rate_budgets")),
    )


def downgrade() -> None:
    op.drop_table("rate_budgets")
