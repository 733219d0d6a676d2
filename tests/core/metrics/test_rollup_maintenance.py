"""The maintained daily rollups always equal the rollups computed from the base tables.

Random histories of a few deals and activities go through every writer: sync pages (new
rows, edits moving them to other days, statuses, owners), deletions, a full read's sweep,
ORM edits, and a change of the workspace's timezone. After every step, in the writer's own
transaction, the tables are compared with :func:`core.metrics.rollup_rules.rollup_rows`.
Deleting a connection or a workspace deletes its rollup rows; a request answers from them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.connections import delete_connection, delete_workspace
from core.db import create_engine, create_sessionmaker
from core.metrics import KpiRequest, PeriodSpec, Segment
from core.metrics.dimensions import Dimension, DimensionRef
from core.metrics.rollup_rules import day_number
from core.models import Activity, ActivityDay, Deal, DealDay
from core.organizations import update_workspace
from core.sync.records import ActivityRecord, DealRecord
from core.sync.upsert import RecordWriter
from tests.core.metrics.factory import Seed
from tests.core.metrics.rollup_checks import assert_maintained
from tests.core.metrics.test_sql_snapshots import _statements

ORIGIN = datetime(2026, 3, 1, tzinfo=UTC)
IDS = [f"r{i}" for i in range(6)]
when = st.one_of(
    st.none(), st.integers(0, 20).map(lambda d: ORIGIN + timedelta(days=d, hours=23, minutes=30))
)
deal = st.fixed_dictionaries(
    {
        "remote_id": st.sampled_from(IDS),
        "remote_created_at": when,
        "closed_at": when,
        "status": st.sampled_from(["OPEN", "WON", "LOST"]),
        "amount": st.sampled_from([None, Decimal("100"), Decimal("250.5")]),
        "owner_remote_id": st.sampled_from(["u0", "u1", None]),
    }
)
activity = st.fixed_dictionaries(
    {
        "remote_id": st.sampled_from(IDS),
        "type": st.sampled_from(["CALL", "MEETING"]),
        "remote_created_at": when,
        "due_at": when,
        "done_at": when,
        "response": st.sampled_from([None, "POSITIVE"]),
    }
)
step = st.one_of(
    st.tuples(st.just("deals"), st.lists(deal, min_size=1, max_size=4)),
    st.tuples(st.just("activities"), st.lists(activity, min_size=1, max_size=4)),
    st.tuples(st.just("delete"), st.lists(st.sampled_from(IDS), max_size=3)),
    st.tuples(st.just("sweep"), st.lists(st.sampled_from(IDS), max_size=3)),
    st.tuples(st.just("orm"), st.integers(0, 5), st.integers(0, 20)),
    st.tuples(st.just("timezone"), st.sampled_from(["Pacific/Kiritimati", "America/New_York"])),
)

EVERY_WRITER = [
    ("deals", [dict(remote_id="r0", remote_created_at=ORIGIN, closed_at=ORIGIN, status="WON",
                    amount=Decimal("100"), owner_remote_id="u0")]),
    ("activities", [dict(remote_id="r1", type="MEETING", remote_created_at=ORIGIN,
                         due_at=ORIGIN, done_at=ORIGIN + timedelta(days=2), response="POSITIVE")]),
    ("deals", [dict(remote_id="r0", remote_created_at=ORIGIN, closed_at=ORIGIN + timedelta(5),
                    status="LOST", amount=None, owner_remote_id="u1")]),
    ("orm", 0, 3),
    ("timezone", "Pacific/Kiritimati"),
    ("delete", ["r1"]),
    ("sweep", []),
]  # fmt: skip

#: Pages adding to, then emptying, rollup rows keyed by a NULL dimension (no owner): the
#: sync's writer adds signed contributions to the rows of their keys (core.metrics.rollup_deltas).
NULL_KEYS = [
    ("deals", [dict(remote_id="r0", remote_created_at=ORIGIN, closed_at=ORIGIN, status="WON",
                    amount=Decimal("100"), owner_remote_id=None)]),
    ("deals", [dict(remote_id="r1", remote_created_at=ORIGIN, closed_at=ORIGIN, status="WON",
                    amount=None, owner_remote_id=None)]),
    ("deals", [dict(remote_id="r0", remote_created_at=ORIGIN, closed_at=ORIGIN, status="WON",
                    amount=None, owner_remote_id=None)]),
    ("delete", ["r1"]),
]  # fmt: skip


def _records(kind: str, specs: list[dict[str, Any]]) -> list[Any]:
    if kind == "deals":
        return [DealRecord(currency="USD", **spec) for spec in specs]
    return [ActivityRecord(**spec) for spec in specs]


async def _check(url: str, steps: list[tuple[Any, ...]]) -> None:
    engine = create_engine(url)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            seed = await Seed.create(session, timezone="Europe/Madrid")
            ws, conn_id = seed.workspace.id, seed.connection.id
            await session.commit()
        writer = RecordWriter(workspace_id=ws, connection_id=conn_id, source="hubspot")
        seen: dict[tuple[str, str], Any] = {}
        for n, (kind, *args) in enumerate(steps):
            now = ORIGIN + timedelta(days=365, minutes=n)
            if kind in ("deals", "activities", "delete", "sweep"):
                async with engine.begin() as conn:
                    if kind in ("deals", "activities"):
                        page = _records(kind, args[0])
                        seen.update(((kind, r.remote_id), r) for r in page)
                        await writer.write_page(conn, page, now)
                    elif kind == "delete":
                        gone = [(cls, i) for i in args[0] for cls in (DealRecord, ActivityRecord)]
                        await writer.write_page(conn, [], now, deleted=gone)
                    else:  # a full read saw only these rows, then sweeps the rest
                        kept = [r for (_, i), r in seen.items() if i in args[0]]
                        await writer.touch(conn, kept, now)
                        await writer.sweep(conn, [DealRecord, ActivityRecord], now)
                    await assert_maintained(conn, ws)
                continue
            async with sessions() as session:
                if kind == "orm":  # an ORM edit: a deal and an activity move to another day
                    moved = ORIGIN + timedelta(days=args[1], hours=1)
                    for model in (Deal, Activity):
                        row = await session.scalar(
                            select(model).where(
                                model.connection_id == conn_id, model.remote_id == IDS[args[0]]
                            )
                        )
                        if row is not None:
                            row.remote_created_at = moved
                else:
                    await update_workspace(session, ws, {"timezone": args[0]})
                await session.flush()
                await assert_maintained(await session.connection(), ws)
                await session.commit()
    finally:
        await engine.dispose()


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=5))
@example(steps=EVERY_WRITER)
@example(steps=NULL_KEYS)
def test_maintained_rollups_equal_recomputed(
    engine: AsyncEngine, database_url: str, steps: list[Any]
) -> None:
    """Each example has its own workspace (the ``engine`` fixture empties the tables after
    the test)."""
    asyncio.run(_check(database_url, steps))


async def _rows(session: AsyncSession, workspace_id: str) -> list[str]:
    """The connections of the workspace's fine deal rows, and its fine activity rows."""
    found = await session.scalars(
        select(DealDay.connection_id).where(
            DealDay.workspace_id == workspace_id, DealDay.kind.not_like("%/all")
        )
    )
    activities = await session.scalar(
        select(func.count())
        .select_from(ActivityDay)
        .where(ActivityDay.workspace_id == workspace_id, ActivityDay.kind.not_like("%/all"))
    )
    return [*sorted(found.all()), f"activities:{activities}"]


async def test_rollups_go_with_their_connection_and_workspace(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    kept = await seed.add_connection()
    for connection in (seed.connection, kept):
        await seed.deal(remote_created_at=ORIGIN, connection=connection)
    await seed.activity(remote_created_at=ORIGIN, connection=kept)
    await session.flush()
    ws = seed.workspace.id
    assert await _rows(session, ws) == [*sorted([seed.connection.id, kept.id]), "activities:1"]
    await delete_connection(session, seed.connection.id)
    assert await _rows(session, ws) == [kept.id, "activities:1"]
    await delete_workspace(session, ws)
    assert await _rows(session, ws) == ["activities:0"]


async def test_orm_deletes_keep_rollups(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    first = await seed.deal(remote_created_at=ORIGIN, status="WON", closed_at=ORIGIN)
    await seed.activity(remote_created_at=ORIGIN, done_at=ORIGIN)
    await session.commit()
    session.expire(first)  # its instants are loaded again by the flush hook
    await session.delete(first)
    await session.flush()
    await assert_maintained(await session.connection(), seed.workspace.id)
    assert await _rows(session, seed.workspace.id) == ["activities:2"]


async def test_whole_days_on_rollup_dimensions_read_the_rollups(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    """The rollups answer whole local days with their dimensions; another timezone, a
    period of the workspace's but a segment on another dimension, read the base tables."""
    seed = await Seed.create(session, timezone="Europe/Madrid")
    await seed.deal(remote_created_at=ORIGIN, status="WON", closed_at=ORIGIN, source="web")
    march = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
    by_source = Segment.of([(DimensionRef(Dimension.SOURCE), ["web"])])
    by_owner = Segment.of([(DimensionRef(Dimension.DEAL_TYPE), ["UPSELL"])])
    cases = [
        (KpiRequest("dealsWon", period=march), True, 1),
        (KpiRequest("dealsWon", period=march, segment=by_owner), True, 0),
        (KpiRequest("dealsWon", period=march, timezone="Asia/Tokyo"), False, 1),
        (KpiRequest("dealsWon", period=march, segment=by_source), False, 1),
    ]
    for request, rolled, value in cases:
        with _statements(engine) as statements:
            (result,) = await seed.run(request, now=ORIGIN + timedelta(days=60))
        assert result.value == value
        assert any("FROM deal_days" in s for s, _ in statements) is rolled, request
        assert any("deals_src" in s for s, _ in statements) is not rolled, request


async def test_bulk_orm_writes_keep_rollups(session: AsyncSession) -> None:
    """``update(Deal)`` and ``delete(Activity)`` through a session refresh the days of the
    rows they match, where they were and where they are now."""
    seed = await Seed.create(session, timezone="Europe/Madrid")
    await seed.deal(remote_created_at=ORIGIN, status="WON", closed_at=ORIGIN)
    await seed.activity(remote_created_at=ORIGIN, done_at=ORIGIN)
    await session.commit()
    await session.execute(update(Deal).values(status="LOST", closed_at=ORIGIN + timedelta(days=3)))
    await session.execute(delete(Activity).where(Activity.done_at.is_not(None)))
    await assert_maintained(await session.connection(), seed.workspace.id)
    statuses = await session.scalars(
        select(DealDay.status).where(
            DealDay.kind == "closed", DealDay.workspace_id == seed.workspace.id
        )
    )
    assert statuses.all() == ["LOST"]
    assert await _rows(session, seed.workspace.id) == [seed.connection.id] * 2 + ["activities:0"]


async def test_concurrent_pages_of_one_day_are_counted_once(engine: AsyncEngine) -> None:
    """Two streams of a connection write activities of the same day in parallel
    transactions (PostgreSQL; SQLite has one writer at a time), both moving one stored
    activity: the second waits for the first's lock on the workspace, then takes away what
    the first wrote, not what was stored before it. Nothing is counted twice or taken away
    twice."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writing transaction at a time")
    async with create_sessionmaker(engine)() as session:
        seed = await Seed.create(session)
        ws, conn_id = seed.workspace.id, seed.connection.id
        await session.commit()
    writer = RecordWriter(workspace_id=ws, connection_id=conn_id, source="hubspot")

    def call(remote_id: str, days: int) -> ActivityRecord:
        return ActivityRecord(
            remote_id=remote_id, type="CALL", remote_created_at=ORIGIN + timedelta(days=days)
        )

    async with engine.begin() as conn:
        await writer.write_page(conn, [call("c0", 0)], ORIGIN)
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await writer.write_page(first, [call("c1", 0), call("c0", 1)], ORIGIN)

        async def other() -> None:
            await second.begin()
            await writer.write_page(second, [call("c2", 0), call("c0", 2)], ORIGIN)
            await second.commit()

        waiting = asyncio.create_task(other())
        await asyncio.sleep(0.2)  # the second page waits for the first's lock
        await first.commit()
        await waiting
    async with engine.connect() as conn:
        await assert_maintained(conn, ws)
        days = await conn.execute(
            select(ActivityDay.day, ActivityDay.activities)
            .where(ActivityDay.workspace_id == ws, ActivityDay.kind == "created")
            .order_by(ActivityDay.day)
        )
    first_day = day_number(ORIGIN.date())
    assert days.all() == [(first_day, 2), (first_day + 2, 1)]


def _rollup_writes(statements: list[tuple[str, Any]]) -> list[str]:
    return [
        table
        for sql, _ in statements
        for table in ("deal_days", "activity_days")
        if table in sql and not sql.lstrip().startswith("SELECT")
    ]


async def test_pages_write_the_rollups_of_changed_rows_only(engine: AsyncEngine) -> None:
    """A first load's page adds its rows in one statement per rollup (nothing stored to
    take away); a page of unchanged rows writes no rollup; a page changing a deal's owner
    takes away and adds that deal's contribution only."""
    async with create_sessionmaker(engine)() as session:
        seed = await Seed.create(session)
        ws, conn_id = seed.workspace.id, seed.connection.id
        await session.commit()
    writer = RecordWriter(workspace_id=ws, connection_id=conn_id, source="hubspot")
    deals = [
        DealRecord(remote_id=f"d{i}", remote_created_at=ORIGIN, owner_remote_id="u0")
        for i in range(3)
    ]
    calls = [ActivityRecord(remote_id="c0", type="CALL", remote_created_at=ORIGIN)]
    moved = dataclasses.replace(deals[0], owner_remote_id="u1")
    expected = [
        ([*deals, *calls], ["deal_days", "activity_days"]),
        ([*deals, *calls], []),
        ([moved, *deals[1:], *calls], ["deal_days", "deal_days"]),
    ]
    for n, (page, writes) in enumerate(expected):
        async with engine.begin() as conn:
            with _statements(engine) as statements:
                await writer.write_page(conn, page, ORIGIN + timedelta(minutes=n))
            assert _rollup_writes(statements) == writes, n
            await assert_maintained(conn, ws)
