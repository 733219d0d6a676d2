"""Currencies the CRM knows (Pipedrive ``/v1/currencies``), keyed by code.

Revision ID: 0002_currencies
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.models.base

revision = "0002_currencies"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    json_type = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
    utc = core.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "currencies",
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("decimals", sa.Integer(), nullable=True),
        sa.Column("symbol", sa.String(length=20), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("is_custom", sa.Boolean(), nullable=False),
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("remote_id", sa.String(length=255), nullable=False),
        sa.Column("remote_created_at", utc, nullable=True),
        sa.Column("remote_updated_at", utc, nullable=True),
        sa.Column("deleted_at", utc, nullable=True),
        sa.Column("synced_at", utc, nullable=False),
        sa.Column("remote_data", json_type, nullable=True),
        sa.Column("custom", json_type, nullable=True),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("connection_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_currencies")),
        sa.UniqueConstraint(
            "connection_id", "remote_id", name=op.f("uq_currencies_connection_id_remote_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("currencies")
