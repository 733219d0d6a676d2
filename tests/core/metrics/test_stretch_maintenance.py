"""Property: the maintained ``customer_stretches`` always equals the stretches recomputed
from the deals, and customer KPIs answer the same from either.

Random histories of a few deals over a few accounts and contacts go through every writer:
sync pages (new deals, edits moving a deal to another customer, status and contract
changes), deletions, a full read's sweep, ORM edits, and a change of the workspace's
timezone or inactivity days. After every step, in the writer's own transaction, the table
is compared with :func:`computed_stretches`; at the end the customer KPIs (with a
comparison and a breakdown) are computed from the table and from the base tables.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from core.connections import delete_connection, delete_workspace
from core.db import create_engine, create_sessionmaker
from core.metrics import (
    Breakdown,
    Comparison,
    DimensionRef,
    KpiRequest,
    KpiResult,
    MetricsExecutor,
    PeriodSpec,
    Scope,
)
from core.metrics.dimensions import Dimension
from core.metrics.stretch_refresh import STRETCH_COLUMNS
from core.metrics.stretches import computed_stretches, from_base_tables
from core.models import CustomerStretch, Deal
from core.organizations import update_workspace
from core.sync.records import DealRecord
from core.sync.upsert import RecordWriter
from tests.core.metrics.factory import REGISTRY, Seed

ORIGIN = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 8, 1, tzinfo=UTC)
KPIS = (
    "newCustomers",
    "activeCustomers",
    "customerChurnRate",
    "customerRetentionRate",
    "averageCustomerLifetimeDays",
    "arpa",
    "expansionRevenue",
    "mrr",
    "upsellCrossSellRate",
)

DEALS = [f"d{i}" for i in range(8)]
day = st.integers(min_value=0, max_value=180)
deal = st.fixed_dictionaries(
    {
        "remote_id": st.sampled_from(DEALS),
        "account_remote_id": st.sampled_from(["a0", "a1", "a2", None]),
        "contact_remote_id": st.sampled_from(["c0", "c1", None]),
        "status": st.sampled_from(["WON", "WON", "LOST", "OPEN"]),
        "closed": st.one_of(st.none(), day.map(lambda d: ORIGIN + timedelta(days=d, hours=23))),
        "contract_start": st.one_of(st.none(), day.map(lambda d: ORIGIN.date() + timedelta(d))),
        "contract_days": st.one_of(st.none(), st.integers(min_value=0, max_value=90)),
        "recurring": st.sampled_from([None, Decimal("100")]),
        "source": st.sampled_from(["referral", "web", None]),
        "deal_type": st.sampled_from(["NEW_BUSINESS", "UPSELL", "UPGRADE", None]),
        "owner_remote_id": st.sampled_from(["u0", "u1"]),
    }
)


def _spec(remote_id: str, account: str, closed_day: int, **fields: Any) -> dict[str, Any]:
    spec: dict[str, Any] = dict(
        remote_id=remote_id, account_remote_id=account, contact_remote_id=None, status="WON",
        closed=ORIGIN + timedelta(days=closed_day, hours=23), contract_start=None,
        contract_days=None, recurring=None, source="web", deal_type=None, owner_remote_id="u0",
    )  # fmt: skip
    return spec | fields


#: a0 is lost on 2026-03-31 (won 03-01, 30 inactivity days), the day before the period, and
#: an upsell with an open-ended contract wins it back on 04-01; a1 is active on 03-31. So
#: "active on the day before" is read exactly at a stretch's end: neither retained nor an
#: expansion.
BOUNDARY = [
    _spec("d0", "a0", 59),
    _spec("d1", "a0", 90, deal_type="UPSELL", recurring=Decimal("100")),
    _spec("d2", "a1", 73),
]

#: Every kind of edit of a won deal once: moved to another account, lost, re-dated, deleted,
#: swept by a full read; and an amount-only edit, which refreshes nothing.
EDITS = [
    ("page", [_spec(f"d{i}", f"a{i % 3}", 10 * i) for i in range(6)]),
    ("page", [_spec("d0", "a2", 0), _spec("d1", "a1", 10, status="LOST")]),
    ("page", [_spec("d2", "a2", 90), _spec("d3", "a0", 30, source="referral")]),
    ("delete", ["d4"]),
    ("sweep", ["d0", "d1", "d2", "d3"]),
]

step = st.one_of(
    st.tuples(st.just("page"), st.lists(deal, min_size=1, max_size=5)),
    st.tuples(st.just("delete"), st.lists(st.sampled_from(DEALS))),
    st.tuples(st.just("sweep"), st.lists(st.sampled_from(DEALS))),
    st.tuples(st.just("orm"), st.integers(0, 7), st.sampled_from(["a0", "a3"])),
    st.tuples(
        st.just("settings"),
        st.sampled_from(["UTC", "Pacific/Kiritimati", "America/Los_Angeles"]),
        st.integers(min_value=1, max_value=60),
    ),
)  # fmt: skip


def _record(spec: dict[str, Any]) -> DealRecord:
    start = spec["contract_start"]
    end = None if start is None or spec["contract_days"] is None else start + timedelta(
        spec["contract_days"]
    )  # fmt: skip
    return DealRecord(
        remote_id=spec["remote_id"],
        remote_created_at=ORIGIN,
        amount=Decimal("1000"),
        currency="USD",
        pipeline_remote_id="p1",
        status=spec["status"],
        owner_remote_id=spec["owner_remote_id"],
        account_remote_id=spec["account_remote_id"],
        contact_remote_id=spec["contact_remote_id"],
        closed_at=None if spec["status"] == "OPEN" else spec["closed"],
        source=spec["source"],
        deal_type=spec["deal_type"],
        recurring_amount=spec["recurring"],
        contract_start=start,
        contract_end=end,
    )


async def _assert_maintained(conn: AsyncConnection, workspace_id: str) -> None:
    table = CustomerStretch.__table__.c
    stored = (
        await conn.execute(
            select(*(table[c] for c in STRETCH_COLUMNS)).where(table.workspace_id == workspace_id)
        )
    ).all()
    src = computed_stretches([workspace_id])
    computed = (await conn.execute(select(*(src.c[c] for c in STRETCH_COLUMNS)))).all()
    assert sorted(map(tuple, stored), key=repr) == sorted(map(tuple, computed), key=repr)


async def _kpis(session: AsyncSession, workspace_id: str) -> list[Any]:
    period = PeriodSpec(start=date(2026, 4, 1), end=date(2026, 6, 1))
    requests = [
        KpiRequest(name, period=period, compare_to=Comparison.PREVIOUS_PERIOD) for name in KPIS
    ] + [
        KpiRequest(name, period=period, breakdown=Breakdown(DimensionRef(Dimension.SOURCE)))
        for name in ("newCustomers", "customerChurnRate")
    ]
    results = await MetricsExecutor(REGISTRY).run(
        session, Scope((workspace_id,)), requests, now=NOW
    )
    out = []
    for result in results:
        assert isinstance(result, KpiResult), result
        out.append((result.value, result.null_reason, result.comparison, result.breakdown))
    return out


async def _check(url: str, steps: list[tuple[Any, ...]]) -> None:
    engine = create_engine(url)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            seed = await Seed.create(session, inactivity_days=30)
            ws, conn_id = seed.workspace.id, seed.connection.id
            await session.commit()
        writer = RecordWriter(workspace_id=ws, connection_id=conn_id, source="hubspot")
        stored: dict[str, DealRecord] = {}
        for n, (kind, *args) in enumerate(steps):
            now = ORIGIN + timedelta(days=365, minutes=n)
            if kind in ("page", "delete", "sweep"):
                async with engine.begin() as conn:
                    if kind == "page":
                        page = [_record(spec) for spec in args[0]]
                        stored.update((r.remote_id, r) for r in page)
                        await writer.write_page(conn, page, now)
                    elif kind == "delete":
                        gone = [(DealRecord, remote_id) for remote_id in args[0]]
                        await writer.write_page(conn, [], now, deleted=gone)
                    else:  # a full read saw only these deals, then sweeps the rest
                        seen = [stored[i] for i in args[0] if i in stored]
                        await writer.touch(conn, seen, now)
                        await writer.sweep(conn, [DealRecord], now)
                    await _assert_maintained(conn, ws)
                continue
            async with sessions() as session:
                if kind == "orm":  # an ORM edit: the deal is won, by another account
                    if not stored:
                        continue
                    remote_id = sorted(stored)[args[0] % len(stored)]
                    row = await session.scalar(
                        select(Deal).where(
                            Deal.connection_id == conn_id, Deal.remote_id == remote_id
                        )
                    )
                    assert row is not None
                    row.account_remote_id = args[1]
                    row.status = "WON"
                    row.closed_at = row.closed_at or ORIGIN + timedelta(days=args[0] * 20)
                    stored[remote_id] = replace(
                        stored[remote_id],
                        account_remote_id=args[1],
                        status="WON",
                        closed_at=row.closed_at,
                    )
                else:
                    await update_workspace(
                        session, ws, {"timezone": args[0], "inactivity_days": args[1]}
                    )
                await session.flush()
                await _assert_maintained(await session.connection(), ws)
                await session.commit()
        async with sessions() as session:
            maintained = await _kpis(session, ws)
            with from_base_tables():
                recomputed = await _kpis(session, ws)
        assert maintained == recomputed
    finally:
        await engine.dispose()


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, min_size=1, max_size=5))
@example(steps=[("page", BOUNDARY)])
@example(steps=EDITS)
def test_maintained_stretches_equal_recomputed(
    engine: AsyncEngine, database_url: str, steps: list[Any]
) -> None:
    """Each example has its own workspace (no truncation between examples: the ``engine``
    fixture empties the tables once, after the test)."""
    asyncio.run(_check(database_url, steps))


async def test_stretches_go_with_their_connection_and_workspace(session: AsyncSession) -> None:
    """Deleting a connection (or a workspace) deletes its stretches with its deals."""
    seed = await Seed.create(session)
    kept = await seed.add_connection()
    for connection in (seed.connection, kept):
        await seed.deal(
            status="WON", closed_at=ORIGIN, account_remote_id="a0", connection=connection
        )
    await session.flush()
    count = select(CustomerStretch.connection_id).where(
        CustomerStretch.workspace_id == seed.workspace.id
    )
    assert sorted((await session.scalars(count)).all()) == sorted([seed.connection.id, kept.id])
    await delete_connection(session, seed.connection.id)
    assert (await session.scalars(count)).all() == [kept.id]
    await delete_workspace(session, seed.workspace.id)
    assert (await session.scalars(count)).all() == []


async def test_orm_edits_and_deletes_keep_stretches(session: AsyncSession) -> None:
    """ORM writes: an edit of a deal whose other columns expired at commit, a hard delete."""
    seed = await Seed.create(session, inactivity_days=30)
    ws = seed.workspace.id
    first = await seed.deal(status="WON", closed_at=ORIGIN, account_remote_id="a0")
    second = await seed.deal(
        status="WON", closed_at=ORIGIN + timedelta(days=10), account_remote_id="a1"
    )
    await session.commit()
    session.expire(first)  # its account is loaded again by the flush hook
    first.status = "LOST"
    await session.flush()
    await _assert_maintained(await session.connection(), ws)
    await session.delete(second)
    await session.flush()
    await _assert_maintained(await session.connection(), ws)
    stored = await session.scalars(
        select(CustomerStretch.customer).where(CustomerStretch.workspace_id == ws)
    )
    assert stored.all() == []
