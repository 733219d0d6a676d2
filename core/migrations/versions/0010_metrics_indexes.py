"""Indexes for the metrics' access paths: a converted lead's moved activities, and covering
indexes the range-per-bucket and "open at t" statements read without the heap.

- ``ix_activities_conn_contact`` (both databases): the lead-activities join (a converted
  lead's activities moved to the contact it became, core.metrics.sources) and the first done
  activity per contact look activities up by (connection, contact); without it each is a scan
  of the workspace's activities. On PostgreSQL it carries what those statements filter on
  (workspace, deleted, type, due and done times), so the join is index-only.
- ``ix_deals_ws_closed`` (PostgreSQL) also carries the creation time (sales cycle, "created
  before t"), the stage, the deal's own probability and remote id (the weighted pipeline of
  deals closed after t): the closed-deal ranges become index-only.
- ``ix_deals_ws_open``, the partial index on still-open deals, carries what "open at t" sums
  and groups by (PostgreSQL); on SQLite it stays as it was.
- ``ix_activities_ws_done`` (PostgreSQL) also carries type and due time: "done" is a held
  meeting's start, so the done-activities range reads them (index-only again).

Revision ID: 0010_metrics_indexes
Revises: 0009_connection_capabilities
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_metrics_indexes"
down_revision = "0009_connection_capabilities"
branch_labels = None
depends_on = None

_OPEN = "status = 'OPEN' AND deleted_at IS NULL"

Widened = tuple[str, str, list[str], list[str], list[str], str | None]

#: (index, table, key columns, INCLUDE before, INCLUDE after, partial predicate) on PostgreSQL.
WIDENED: tuple[Widened, ...] = (
    (
        "ix_deals_ws_closed",
        "deals",
        ["workspace_id", "closed_at"],
        ["deleted_at", "status", "amount", "currency", "connection_id", "owner_remote_id"],
        [
            "deleted_at",
            "status",
            "amount",
            "currency",
            "connection_id",
            "owner_remote_id",
            "remote_created_at",
            "stage_remote_id",
            "probability",
            "remote_id",
        ],
        None,
    ),
    (
        "ix_deals_ws_open",
        "deals",
        ["workspace_id", "remote_created_at"],
        [],
        ["amount", "currency", "connection_id", "stage_remote_id", "probability", "remote_id"],
        _OPEN,
    ),
    (
        "ix_activities_ws_done",
        "activities",
        ["workspace_id", "done_at"],
        ["deleted_at", "connection_id", "owner_remote_id"],
        ["deleted_at", "connection_id", "owner_remote_id", "type", "due_at"],
        None,
    ),
)
CONTACT_INCLUDE = ["workspace_id", "deleted_at", "type", "due_at", "done_at"]


def _recreate(
    name: str, table: str, columns: list[str], include: list[str], where: str | None
) -> None:
    op.drop_index(name, table_name=table)
    op.create_index(
        name,
        table,
        columns,
        postgresql_include=include,
        postgresql_where=sa.text(where) if where else None,
    )


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    op.create_index(
        "ix_activities_conn_contact",
        "activities",
        ["connection_id", "contact_remote_id"],
        postgresql_include=CONTACT_INCLUDE,
    )
    if pg:
        for name, table, columns, _, after, where in WIDENED:
            _recreate(name, table, columns, after, where)


def downgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        for name, table, columns, before, _, where in WIDENED:
            _recreate(name, table, columns, before, where)
    op.drop_index("ix_activities_conn_contact", table_name="activities")
