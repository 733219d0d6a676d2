"""The maintained customer lifecycle: ``customer_stretches``, filled from the deals.

Churn, retention, MRR's customers and ARPA read active stretches of customers; computed per
request they cost a scan of every won deal of the workspace. The table holds them, kept
current by the sync in the transaction that writes the deals
(core.metrics.stretch_refresh). This migration creates it and fills it from the deals
already stored, with the same statement the sync uses.

A customer known only by a contact has its deals found by ``ix_deals_conn_contact_only``
(deals without an account, by connection and contact) when they change. It also adds
``ix_deals_ws_recurring``, a partial index of the won deals with a recurring
amount (a tenth of the deals) that mrr reads; on PostgreSQL it carries the columns mrr's
cells read, so the workspace's contracts are an index-only scan.

Revision ID: 0012_customer_stretches
Revises: 0011_metrics_access_paths
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_customer_stretches"
down_revision = "0011_metrics_access_paths"
branch_labels = None
depends_on = None

#: The won deals with a recurring amount mrr reads, as of this revision.
RECURRING_WHERE = "status = 'WON' AND recurring_amount IS NOT NULL AND deleted_at IS NULL"
RECURRING_INCLUDE = (
    "contract_start", "contract_end", "closed_at", "recurring_amount", "currency", "amount",
    "status", "deleted_at",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "customer_stretches",
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("customer", sa.String(300), nullable=False),
        sa.Column("start_day", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("end_day", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.String(40), nullable=False),
        sa.Column("account_remote_id", sa.String(255), nullable=True),
        sa.Column("source", sa.String(200), nullable=True),
        sa.Column("owner_remote_id", sa.String(255), nullable=True),
        sa.Column("pipeline_remote_id", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint(
            "connection_id", "customer", "start_day", name=op.f("pk_customer_stretches")
        ),
    )
    op.create_index(
        "ix_customer_stretches_ws_days",
        "customer_stretches",
        ["workspace_id", "end_day", "start_day"],
    )
    op.create_index(
        "ix_deals_conn_contact_only",
        "deals",
        ["connection_id", "contact_remote_id"],
        postgresql_where=sa.text("account_remote_id IS NULL"),
        sqlite_where=sa.text("account_remote_id IS NULL"),
    )
    op.create_index(
        "ix_deals_ws_recurring",
        "deals",
        ["workspace_id"],
        postgresql_include=list(RECURRING_INCLUDE),
        postgresql_where=sa.text(RECURRING_WHERE),
        sqlite_where=sa.text(RECURRING_WHERE),
    )
    # Imported here, not at module level: only this step needs the model and the rule.
    from core.metrics.stretch_refresh import rebuild_all

    rebuild_all(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_deals_ws_recurring", table_name="deals")
    op.drop_index("ix_deals_conn_contact_only", table_name="deals")
    op.drop_index("ix_customer_stretches_ws_days", table_name="customer_stretches")
    op.drop_table("customer_stretches")
