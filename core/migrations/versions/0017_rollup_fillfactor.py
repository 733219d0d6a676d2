"""Daily rollups keep free room in their pages (PostgreSQL ``fillfactor = 70``).

Why: a sync adds each page's contribution to the rollup rows with ``INSERT .. ON CONFLICT
DO UPDATE`` (core.metrics.rollup_deltas), so a first load updates the same rollup rows
again and again. In pages filled to the brim every update writes its new row version to
another page and a new entry into the key index; with room left in the page, PostgreSQL
keeps the new version there and skips the index (a heap-only update), since no indexed
expression changes. Measured on a HubSpot first load of 10,000 deals: PostgreSQL's CPU
5.79 -> 5.09 s (6 interleaved rounds, lower in every round); the tables take up to a third
more room, small next to the rows they sum. Rows written before this revision move only as
they are next updated. SQLite has no such setting: nothing to do there.

Revision ID: 0017_rollup_fillfactor
Revises: 0016_daily_rollups
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0017_rollup_fillfactor"
down_revision = "0016_daily_rollups"
branch_labels = None
depends_on = None

#: The rollup tables and the share of each page their inserts fill.
TABLES = ("deal_days", "activity_days")
FILLFACTOR = 70


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
