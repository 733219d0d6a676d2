"""The maintained customer lifecycle: ``customer_stretches``, filled from the deals.

Churn, retention, MRR's customers and ARPA read active stretches of customers; computed per
request they cost a scan of every won deal of the workspace. The table holds them, kept
current by the sync in the transaction that writes the deals
(core.metrics.stretch_refresh). This migration creates it and fills it from the deals
already stored with a frozen copy of the rule as it stood at this revision (plain SQL
below, not an import of core.metrics): a later change to the app cannot change what this
migration does. Later revisions that change the rule recompute what they change.

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

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

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


#: The stretches of every won deal of every workspace, as core.metrics.stretches computed
#: them at this revision: a won deal makes its customer (account, or contact without one)
#: active on local days [close day, close day + inactivity days), and its recurring
#: contract on [contract start or close day, contract end + 1) (open-ended: 1,000,000);
#: overlapping or touching intervals merge (gaps and islands), ties ordered by deal id.
_FILL = """
WITH won_deals AS (
    SELECT deals.id AS deal_id, deals.workspace_id, deals.connection_id,
        CASE WHEN deals.account_remote_id IS NOT NULL THEN 'a:' || deals.account_remote_id
            ELSE 'c:' || deals.contact_remote_id END AS customer,
        deals.account_remote_id, deals.source, deals.owner_remote_id,
        deals.pipeline_remote_id, deals.contract_start, deals.contract_end,
        deals.recurring_amount, workspaces.inactivity_days,
        {local_day} AS d
    FROM deals JOIN workspaces ON workspaces.id = deals.workspace_id
    WHERE deals.deleted_at IS NULL AND deals.status = 'WON'
        AND (deals.account_remote_id IS NOT NULL OR deals.contact_remote_id IS NOT NULL)
), intervals AS (
    SELECT deal_id, workspace_id, connection_id, customer, account_remote_id, source,
        owner_remote_id, pipeline_remote_id, d AS s, d + inactivity_days AS e
    FROM won_deals WHERE d IS NOT NULL
    UNION ALL
    SELECT deal_id, workspace_id, connection_id, customer, account_remote_id, source,
        owner_remote_id, pipeline_remote_id, coalesce({contract_start}, d) AS s,
        CASE WHEN contract_end IS NULL THEN 1000000 ELSE {contract_end} + 1 END AS e
    FROM won_deals
    WHERE (contract_start IS NOT NULL OR recurring_amount IS NOT NULL)
        AND coalesce({contract_start}, d) IS NOT NULL
), flagged AS (
    SELECT intervals.*,
        CASE WHEN max(e) OVER (PARTITION BY connection_id, customer ORDER BY s, e, deal_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) IS NULL
            OR s > max(e) OVER (PARTITION BY connection_id, customer ORDER BY s, e, deal_id
                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        THEN 1 ELSE 0 END AS starts
    FROM intervals
), numbered AS (
    SELECT flagged.*,
        sum(starts) OVER (PARTITION BY connection_id, customer ORDER BY s, e, deal_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stretch
    FROM flagged
)
INSERT INTO customer_stretches (workspace_id, connection_id, customer, account_remote_id,
    source, owner_remote_id, pipeline_remote_id, start_day, end_day)
SELECT workspace_id, connection_id, customer, max(account_remote_id),
    max(CASE WHEN starts = 1 THEN source END),
    max(CASE WHEN starts = 1 THEN owner_remote_id END),
    max(CASE WHEN starts = 1 THEN pipeline_remote_id END),
    CAST(min(s) AS INTEGER), CAST(max(e) AS INTEGER)
FROM numbered
GROUP BY workspace_id, connection_id, customer, stretch
"""

_PG_DAYS = {
    "local_day": "(CAST(timezone(workspaces.timezone, deals.closed_at) AS DATE)"
    " - DATE '1970-01-01')",
    "contract_start": "(contract_start - DATE '1970-01-01')",
    "contract_end": "(contract_end - DATE '1970-01-01')",
}
_SQLITE_DAYS = {
    "local_day": "m0012_local_day(deals.closed_at, workspaces.timezone)",
    "contract_start": "CAST(julianday(contract_start) - 2440587.5 AS INTEGER)",
    "contract_end": "CAST(julianday(contract_end) - 2440587.5 AS INTEGER)",
}
_EPOCH_ORDINAL = 719163


def _local_day(stored: str | None, timezone: str | None) -> int | None:
    """Days since 1970-01-01 of a stored UTC timestamp's local date (SQLite has no time
    zones; this revision's own copy, registered on the migrating connection only)."""
    if stored is None or timezone is None:
        return None
    instant = datetime.fromisoformat(stored)
    instant = instant.replace(tzinfo=UTC) if instant.tzinfo is None else instant
    return instant.astimezone(ZoneInfo(timezone)).date().toordinal() - _EPOCH_ORDINAL


def fill_stretches(bind: Connection) -> None:
    """Fill ``customer_stretches`` from the stored deals (the table is empty)."""
    if bind.dialect.name == "sqlite":
        bind.connection.dbapi_connection.create_function(  # type: ignore[union-attr]
            "m0012_local_day", 2, _local_day, deterministic=True
        )
        days = _SQLITE_DAYS
    else:
        days = _PG_DAYS
    bind.execute(sa.text(_FILL.format(**days)))


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
    fill_stretches(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_deals_ws_recurring", table_name="deals")
    op.drop_index("ix_deals_conn_contact_only", table_name="deals")
    op.drop_index("ix_customer_stretches_ws_days", table_name="customer_stretches")
    op.drop_table("customer_stretches")
