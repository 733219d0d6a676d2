"""Indexes for the metrics' access paths by shape (issue #19): "open at t" as still-open
deals plus a range of closed deals, and a series' buckets as index ranges.

- ``ix_deals_ws_open`` (PostgreSQL): the partial index on still-open deals also carries the
  status, close time and owner that the "open at t" statement's conditions read
  (core.metrics.sources.open_deals): its still-open branch becomes index-only.
- ``ix_activities_ws_held_early`` (both databases): meetings held at their start, earlier
  than their stored done time, by (workspace, due time). "Done in a bucket" is a range of
  the stored done time for every other activity; these few are a range of their due time
  (core.metrics.measures.RANGE_PARTS), read from this small partial index instead of from
  the bucket's start to the end of the done-time index (index-only on PostgreSQL).

Revision ID: 0011_metrics_access_paths
Revises: 0010_metrics_indexes
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_metrics_access_paths"
down_revision = "0010_metrics_indexes"
branch_labels = None
depends_on = None

_OPEN = "status = 'OPEN' AND deleted_at IS NULL"
OPEN_BEFORE = ["amount", "currency", "connection_id", "stage_remote_id", "probability", "remote_id"]
OPEN_AFTER = [*OPEN_BEFORE, "status", "closed_at", "owner_remote_id"]
HELD_EARLY = (
    "type = 'MEETING' AND done_at IS NOT NULL AND due_at IS NOT NULL AND due_at < done_at "
    "AND deleted_at IS NULL"
)
HELD_EARLY_INCLUDE = ["type", "done_at", "deleted_at", "connection_id", "owner_remote_id"]


def _open_index(include: list[str]) -> None:
    op.drop_index("ix_deals_ws_open", table_name="deals")
    op.create_index(
        "ix_deals_ws_open",
        "deals",
        ["workspace_id", "remote_created_at"],
        postgresql_include=include,
        postgresql_where=sa.text(_OPEN),
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _open_index(OPEN_AFTER)
    op.create_index(
        "ix_activities_ws_held_early",
        "activities",
        ["workspace_id", "due_at"],
        postgresql_include=HELD_EARLY_INCLUDE,
        postgresql_where=sa.text(HELD_EARLY),
        sqlite_where=sa.text(HELD_EARLY),
    )


def downgrade() -> None:
    op.drop_index("ix_activities_ws_held_early", table_name="activities")
    if op.get_bind().dialect.name == "postgresql":
        _open_index(OPEN_BEFORE)
