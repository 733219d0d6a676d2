"""Daily rollups: ``deal_days`` and ``activity_days``, filled from the rows already stored.

Flow KPIs on whole local days read them instead of the deals and activities
(core.metrics.rollups); the sync, ORM flushes and deletions keep them current in the
transaction that writes the rows (core.metrics.rollup_refresh). This migration creates them
and fills them from the stored rows in plain SQL, as core.metrics.rollup_rules states the
rule as of this revision: a live row falls on the local day (in its workspace's timezone) of
each time column (``kind``) it has, summed with the rows of the same workspace, connection,
kind, day and dimensions. On SQLite the local day is ``crmkpi_local_day``, which core.db
registers on every connection (as the metrics' own statements use it).

Revision ID: 0016_daily_rollups
Revises: 0015_customer_paths
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016_daily_rollups"
down_revision = "0015_customer_paths"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_SUM = sa.Numeric(28, 4)

#: When an activity was done, as of this revision: a meeting held before it was marked done
#: at its start (its due time), anything else when it was marked done.
_DONE = (
    "CASE WHEN r.type = 'MEETING' AND r.done_at IS NOT NULL AND r.due_at IS NOT NULL "
    "AND r.due_at < r.done_at THEN r.due_at ELSE r.done_at END"
)
DEAL_KINDS: dict[str, tuple[str, str | None]] = {
    "created": ("r.remote_created_at", None),
    "closed": ("r.closed_at", None),
}
ACTIVITY_KINDS: dict[str, tuple[str, str | None]] = {
    "created": ("r.remote_created_at", None),
    "done": (_DONE, None),
    "response": (
        f"COALESCE({_DONE}, r.remote_created_at)",
        "r.response IN ('POSITIVE', 'NEGATIVE')",
    ),
}
DEAL_DIMENSIONS = (
    "status", "currency", "owner_remote_id", "pipeline_remote_id", "stage_remote_id", "deal_type",
)  # fmt: skip
ACTIVITY_DIMENSIONS = ("type", "owner_remote_id")


def _local_day(instant: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"(CAST(timezone(w.timezone, {instant}) AS DATE) - DATE '1970-01-01')"
    return f"crmkpi_local_day({instant}, w.timezone)"


def _epoch(instant: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"EXTRACT(EPOCH FROM {instant})"
    return f"((julianday({instant}) - 2440587.5) * 86400.0)"


def _deal_sums(dialect: str) -> list[str]:
    cycle = "r.remote_created_at IS NOT NULL AND r.closed_at IS NOT NULL"
    margin = "r.amount IS NOT NULL AND r.cost IS NOT NULL"
    seconds = f"{_epoch('r.closed_at', dialect)} - {_epoch('r.remote_created_at', dialect)}"
    return [
        "count(*)",
        "count(r.amount)",
        "sum(r.amount)",
        f"count(CASE WHEN {cycle} THEN 1 END)",
        f"sum(CASE WHEN {cycle} THEN {seconds} END)",
        f"count(CASE WHEN {margin} THEN 1 END)",
        f"sum(CASE WHEN {margin} THEN r.amount - r.cost END)",
        f"sum(CASE WHEN {margin} THEN r.amount END)",
    ]


_ACTIVITY_SUMS = [
    "count(*)",
    "count(CASE WHEN r.meeting_status IN ('ACCEPTED', 'HELD') THEN 1 END)",
    "count(CASE WHEN r.response = 'POSITIVE' THEN 1 END)",
]
DEAL_SUM_COLUMNS = (
    "deals", "amount_n", "amount", "cycle_n", "cycle_seconds", "margin_n", "margin",
    "margin_revenue",
)  # fmt: skip
ACTIVITY_SUM_COLUMNS = ("activities", "accepted", "positive")


def _fill(
    table: str,
    source: str,
    kinds: dict[str, tuple[str, str | None]],
    coarse: tuple[str, ...],
    dialect: str,
) -> None:
    """Each kind by every dimension, and its coarse version (``<kind>/all``) keeping only
    the ``coarse`` dimensions (the others NULL)."""
    deals = table == "deal_days"
    dimensions = DEAL_DIMENSIONS if deals else ACTIVITY_DIMENSIONS
    sums = _deal_sums(dialect) if deals else _ACTIVITY_SUMS
    names = DEAL_SUM_COLUMNS if deals else ACTIVITY_SUM_COLUMNS
    columns = ", ".join(["workspace_id", "connection_id", "kind", "day", *dimensions, *names])
    for kind, (instant, only) in kinds.items():
        for name, kept in ((kind, dimensions), (f"{kind}/all", coarse)):
            day = _local_day(instant, dialect)
            where = f"r.deleted_at IS NULL AND ({instant}) IS NOT NULL"
            if only is not None:
                where += f" AND {only}"
            dims = ", ".join(f"r.{d}" if d in kept else "NULL" for d in dimensions)
            grouped = "".join(f", r.{d}" for d in kept)
            op.execute(
                f"INSERT INTO {table} ({columns}) "
                f"SELECT r.workspace_id, r.connection_id, '{name}', {day}, {dims}, "
                f"{', '.join(sums)} "
                f"FROM {source} r JOIN workspaces w ON w.id = r.workspace_id "
                f"WHERE {where} "
                f"GROUP BY r.workspace_id, r.connection_id, {day}{grouped}"
            )


def upgrade() -> None:
    def keys() -> list[sa.Column[Any]]:
        return [
            sa.Column("id", _ID, autoincrement=True, nullable=False),
            sa.Column("workspace_id", sa.String(40), nullable=False),
            sa.Column("connection_id", sa.String(40), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("day", sa.Integer(), nullable=False),
        ]

    op.create_table(
        "deal_days",
        *keys(),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("currency", sa.String(3), nullable=True),
        sa.Column("owner_remote_id", sa.String(255), nullable=True),
        sa.Column("pipeline_remote_id", sa.String(255), nullable=True),
        sa.Column("stage_remote_id", sa.String(255), nullable=True),
        sa.Column("deal_type", sa.String(32), nullable=True),
        sa.Column("deals", sa.Integer(), nullable=False),
        sa.Column("amount_n", sa.Integer(), nullable=False),
        sa.Column("amount", _SUM, nullable=True),
        sa.Column("cycle_n", sa.Integer(), nullable=False),
        sa.Column("cycle_seconds", sa.Float(), nullable=True),
        sa.Column("margin_n", sa.Integer(), nullable=False),
        sa.Column("margin", _SUM, nullable=True),
        sa.Column("margin_revenue", _SUM, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_days")),
    )
    op.create_table(
        "activity_days",
        *keys(),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("owner_remote_id", sa.String(255), nullable=True),
        sa.Column("activities", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_days")),
    )
    dialect = op.get_bind().dialect.name
    _fill("deal_days", "deals", DEAL_KINDS, ("status", "currency"), dialect)
    _fill("activity_days", "activities", ACTIVITY_KINDS, ("type",), dialect)
    # A row's key, NULL dimensions equal to each other (core.models.rollups.key_of), its
    # leading columns what requests read by: the sync adds to a row with ON CONFLICT on it.
    # Created once the rows are filled.
    for table, (first, *nullable) in (
        ("deal_days", DEAL_DIMENSIONS),
        ("activity_days", ACTIVITY_DIMENSIONS),
    ):
        marked = "".join(f", coalesce('=' || {d}, '')" for d in nullable)
        op.execute(
            f"CREATE UNIQUE INDEX uq_{table}_key ON {table} "
            f"(workspace_id, kind, day, connection_id, {first}{marked})"
        )


def downgrade() -> None:
    for table in ("activity_days", "deal_days"):
        op.drop_index(f"uq_{table}_key", table_name=table)
        op.drop_table(table)
