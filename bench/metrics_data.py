"""Synthetic normalized data for the metrics benchmark, generated inside the database.

Rows are produced by ``INSERT ... SELECT`` over a number series (``generate_series`` on
PostgreSQL, a recursive CTE on SQLite): the rows never leave the database (faster than COPY
from Python), and on PostgreSQL the deals' and activities' secondary indexes are built after
the load, so a million deals take well under a few minutes; then VACUUM ANALYZE, as
autovacuum would do shortly after such a load.
One currency (the reporting one), so hand-written SQL needs no FX; no stage history, so
weighted pipeline falls back to each deal's current stage.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_sessionmaker
from core.metrics import rollup_refresh, stretch_refresh
from core.models import Activity, Connection, Deal, Organization, Workspace

EPOCH = "2024-01-01"
SPAN_SECONDS = 2 * 365 * 86400


def _series(dialect: str, n: int) -> str:
    if dialect == "postgresql":
        return f"generate_series(1, {n}) AS s(i)"
    return (
        f"(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) "
        "SELECT i FROM s) AS s"
    )


def _rand(dialect: str, n: int) -> str:
    """An integer in [0, n)."""
    if dialect == "postgresql":
        return f"floor(random() * {n})::int"
    return f"(abs(random()) % {n})"


def _once(dialect: str) -> str:
    """Close a subquery of random columns so each is drawn once per row.

    SQLite flattens a subquery into its outer query, which then evaluates ``random()`` again
    at every reference: an activity's due and done times, or a deal's creation and close,
    came from different draws. A LIMIT keeps the subquery whole (PostgreSQL never re-draws).
    """
    return "" if dialect == "postgresql" else " LIMIT -1 OFFSET 0"


def _ts(dialect: str, seconds: str) -> str:
    if dialect == "postgresql":
        return f"(timestamptz '{EPOCH} 00:00:00+00' + ({seconds}) * interval '1 second')"
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', '{EPOCH}', '+' || ({seconds}) || ' seconds') || '.000000')"
    )


async def generate(
    engine: AsyncEngine, *, deals: int, activities: int, workspaces: int, main_share: float
) -> tuple[str, str]:
    """Create the tenants and rows; returns (organization id, measured workspace id)."""
    async with create_sessionmaker(engine)() as session:
        org = Organization(name="Bench")
        session.add(org)
        await session.flush()
        spaces = [
            Workspace(
                organization_id=org.id, name=f"ws{i}", timezone="Europe/Madrid", currency="EUR"
            )
            for i in range(workspaces)
        ]
        session.add_all(spaces)
        await session.flush()
        conns = [
            Connection(
                workspace_id=w.id,
                connector="hubspot",
                name=f"c{i}",
                last_synced_at=datetime.now(UTC),
            )
            for i, w in enumerate(spaces)
        ]
        session.add_all(conns)
        await session.commit()
        pairs = [(w.id, c.id) for w, c in zip(spaces, conns, strict=True)]
    dialect = engine.dialect.name
    now = (
        "timestamptz '2026-01-01 00:00:00+00'"
        if dialect == "postgresql"
        else "'2026-01-01 00:00:00.000000'"
    )
    # Secondary indexes are built once after the load, not maintained row by row (several
    # times faster at 1M deals); the unique keys stay.
    bulk = [t for t in (Deal.__table__, Activity.__table__) if dialect == "postgresql"]
    later = [ix for t in bulk for ix in t.indexes if not ix.unique]
    async with engine.begin() as conn:
        for ix in later:
            await conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
    async with engine.begin() as conn:
        for index, (ws, cid) in enumerate(pairs):
            share = main_share if index == 0 else (1 - main_share) / max(1, workspaces - 1)
            n_deals, n_acts = int(deals * share), int(activities * share)
            if n_deals == 0:
                continue
            await conn.execute(
                text(
                    "INSERT INTO users (workspace_id, connection_id, remote_id, synced_at, name, "
                    "active) "
                    f"SELECT '{ws}', '{cid}', 'u' || i, {now}, 'Owner ' || i, true FROM "
                    f"{_series(dialect, 50)}"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO stages (workspace_id, connection_id, remote_id, synced_at, "
                    "pipeline_remote_id, name, display_order, probability, kind, is_closed, "
                    "is_won) "
                    f"SELECT '{ws}', '{cid}', 's' || i, {now}, 'p1', 'Stage ' || i, i, i / 6.0, "
                    f"'QUALIFIED', false, false FROM {_series(dialect, 5)}"
                )
            )
            created = _rand(dialect, SPAN_SECONDS)
            # status: 45% WON, 40% LOST, 15% OPEN; closed 0-120 days after creation.
            await conn.execute(
                text(
                    "INSERT INTO deals (workspace_id, connection_id, remote_id, synced_at, amount, "
                    "currency, status, owner_remote_id, pipeline_remote_id, stage_remote_id, "
                    "remote_created_at, closed_at, deleted_at) "
                    f"SELECT '{ws}', '{cid}', 'd' || i, {now}, amount, 'EUR', status, owner, "
                    "'p1', stage, "
                    f"{_ts(dialect, 'created')}, "
                    f"CASE WHEN status = 'OPEN' THEN NULL ELSE {_ts(dialect, 'created + gap')} "
                    "END, "
                    f"CASE WHEN del = 0 THEN {now} ELSE NULL END FROM ("
                    f"SELECT i, {_rand(dialect, 20000)} + 100 AS amount, "
                    "CASE WHEN r < 45 THEN 'WON' WHEN r < 85 THEN 'LOST' ELSE 'OPEN' END AS "
                    "status, "
                    f"'u' || ({_rand(dialect, 50)} + 1) AS owner, 's' || ({_rand(dialect, 5)} + "
                    "1) AS stage, "
                    f"{created} AS created, {_rand(dialect, 120 * 86400)} AS gap, "
                    f"{_rand(dialect, 100)} AS del FROM ("
                    f"SELECT i, {_rand(dialect, 100)} AS r FROM {_series(dialect, n_deals)}"
                    f"{_once(dialect)}) AS a{_once(dialect)}) AS b"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO activities (workspace_id, connection_id, remote_id, synced_at, "
                    "type, "
                    "owner_remote_id, deal_remote_id, remote_created_at, due_at, done_at) "
                    f"SELECT '{ws}', '{cid}', 'a' || i, {now}, "
                    "CASE WHEN t = 0 THEN 'CALL' WHEN t = 1 THEN 'EMAIL' WHEN t = 2 THEN 'MEETING' "
                    "WHEN t = 3 THEN 'NOTE' ELSE 'TASK' END, owner, deal, "
                    f"{_ts(dialect, 'created')}, {_ts(dialect, 'created + 86400')}, "
                    f"CASE WHEN d < 80 THEN {_ts(dialect, 'created + 3600')} ELSE NULL END FROM ("
                    f"SELECT i, {_rand(dialect, 5)} AS t, 'u' || ({_rand(dialect, 50)} + 1) AS "
                    "owner, "
                    f"'d' || ({_rand(dialect, max(1, n_deals))} + 1) AS deal, "
                    f"{_rand(dialect, SPAN_SECONDS)} AS created, {_rand(dialect, 100)} AS d "
                    f"FROM {_series(dialect, n_acts)}{_once(dialect)}) AS a"
                )
            )
    async with engine.begin() as conn:
        for ix in later:
            await conn.run_sync(ix.create)
        # A bulk load by hand, like a restore: the maintained aggregates are rebuilt once.
        await conn.run_sync(stretch_refresh.rebuild, [ws for ws, _ in pairs])
        await conn.run_sync(rollup_refresh.rebuild, [ws for ws, _ in pairs])
        if dialect != "postgresql":
            await conn.execute(text("ANALYZE"))
    if dialect == "postgresql":
        # What autovacuum does to a table after a bulk load (here within two minutes): set
        # the visibility map, without which no index-only scan skips the heap. The
        # hand-written SQL runs on the same tables.
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE"))
    return org.id, pairs[0][0]
