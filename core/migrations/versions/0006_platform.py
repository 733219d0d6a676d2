"""Platform: reconciliation schedule per connection, sync-end webhooks, shared metric cache
and shared rate-limit buckets.

Revision ID: 0003_platform
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.models.base

revision = "0003_platform"
down_revision = "0005_connection_lookback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("full_sync_schedule", sa.String(length=100), nullable=True))
    op.create_table(
        "sync_webhooks",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sync_webhooks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_sync_webhooks")),
    )
    op.create_table(
        "metric_cache",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", core.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_metric_cache")),
    )
    op.create_index(op.f("ix_metric_cache_expires_at"), "metric_cache", ["expires_at"])
    op.create_table(
        "rate_limit_buckets",
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("tat", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("identity", name=op.f("pk_rate_limit_buckets")),
    )


def downgrade() -> None:
    op.drop_table("rate_limit_buckets")
    op.drop_index(op.f("ix_metric_cache_expires_at"), table_name="metric_cache")
    op.drop_table("metric_cache")
    op.drop_table("sync_webhooks")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("full_sync_schedule")
