"""Bulk writes of deals keep ``customer_stretches`` equal to the stretches recomputed from
the deals: ORM bulk UPDATE / DELETE statements run by a session (which skip the flush hook)
are caught by core.metrics.stretch_refresh's ``do_orm_execute`` hook, and no module writes
the deals table outside the writers that keep the stretches themselves."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.stretch_refresh import STRETCH_COLUMNS
from core.metrics.stretches import computed_stretches
from core.models import CustomerStretch, Deal, Workspace
from tests.core.metrics.factory import Seed, utc

ROOT = Path(__file__).parents[3]


async def _table(session: AsyncSession) -> list[tuple[object, ...]]:
    c = CustomerStretch.__table__.c
    rows = await session.execute(select(*(c[n] for n in STRETCH_COLUMNS)))
    return sorted(map(tuple, rows), key=repr)


async def _computed(session: AsyncSession, workspace_id: str) -> list[tuple[object, ...]]:
    src = computed_stretches([workspace_id])
    rows = await session.execute(select(*(src.c[n] for n in STRETCH_COLUMNS)))
    return sorted(map(tuple, rows), key=repr)


async def _seed(session: AsyncSession) -> Seed:
    seed = await Seed.create(session, timezone="Europe/Madrid", inactivity_days=30)
    for account, day in (("a1", 1), ("a1", 20), ("a1", 90), ("a2", 5), ("a3", 40)):
        await seed.deal(
            status="WON", account_remote_id=account, closed_at=utc(2025, 1, 1) + timedelta(day)
        )
    await seed.deal(status="LOST", account_remote_id="a3", closed_at=utc(2025, 1, 2))
    return seed


async def test_orm_bulk_update_of_deals_refreshes_both_customers(session: AsyncSession) -> None:
    seed = await _seed(session)
    before = await _table(session)
    # a1's deals move to a4; a3's lost deal is won: three customers change.
    await session.execute(
        update(Deal).where(Deal.account_remote_id == "a1").values(account_remote_id="a4")
    )
    await session.execute(update(Deal).where(Deal.status == "LOST").values(status="WON"))
    after = await _table(session)
    assert after == await _computed(session, seed.workspace.id)
    assert after != before
    customers = {row[2] for row in after}
    assert "a:a1" not in customers and "a:a4" in customers


async def test_orm_bulk_delete_of_deals_refreshes(session: AsyncSession) -> None:
    seed = await _seed(session)
    await session.execute(delete(Deal).where(Deal.account_remote_id == "a2"))
    after = await _table(session)
    assert after == await _computed(session, seed.workspace.id)
    assert "a:a2" not in {row[2] for row in after}


async def test_orm_bulk_update_of_inactivity_days_rebuilds(session: AsyncSession) -> None:
    seed = await _seed(session)
    before = await _table(session)
    await session.execute(
        update(Workspace).where(Workspace.id == seed.workspace.id).values(inactivity_days=200)
    )
    after = await _table(session)
    assert after == await _computed(session, seed.workspace.id)
    assert len(after) < len(before)  # a1's three wins now make one stretch


#: Core writes of deals keep the stretches themselves: the sync's writer (before/after
#: states, sweeps) and the deletion of a whole connection or workspace with its stretches.
ALLOWED = {"core/sync/upsert.py", "core/sync/pgcopy.py", "core/sync/sqlitebulk.py"}
_CORE_WRITE = re.compile(
    r"\b(update|delete|insert)\(\s*(Deal\b|Deal\.__table__|deals_table)"
    r"|\b(UPDATE|DELETE\s+FROM|INSERT\s+INTO)\s+deals\b",
    re.IGNORECASE,
)


def test_no_module_writes_deals_around_the_stretch_upkeep() -> None:
    """A new Core ``update(Deal)`` on a connection, or SQL text writing ``deals``, skips
    every hook: it must refresh the stretches as core.sync.upsert does, and be listed."""
    offenders = []
    for folder in ("core", "api", "connectors"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name in ALLOWED or "/migrations/" in name:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if _CORE_WRITE.search(line):
                    offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []
    # The pattern finds what it is meant to find.
    assert _CORE_WRITE.search("await conn.execute(update(Deal).values(status='WON'))")
    assert _CORE_WRITE.search('text("UPDATE deals SET account_remote_id = NULL")')


def test_written_states_are_deal_states_of_the_same_values() -> None:
    """stretch_refresh.written_states restates deal_state with column positions (speed):
    the two must agree for a record as written and for a stored row, whatever is set."""
    from datetime import date
    from decimal import Decimal

    from core.metrics.stretch_refresh import LIFECYCLE_COLUMNS, deal_state, written_states

    closed = utc(2026, 3, 1)
    rows = [
        ("d1", "acc", None, "WON", closed, date(2026, 3, 1), date(2027, 3, 1), Decimal("10"),
         "ads", "own", "pipe", False),
        ("d2", None, "con", "LOST", None, None, None, None, None, None, None, True),
        ("d3", "acc", None, "WON", closed, date(2026, 3, 1), date(2027, 3, 1), None, "ref",
         None, "pipe", False),
    ]  # fmt: skip
    expected = {}
    for remote_id, *values, deleted in rows:
        stored = (*values, closed if deleted else None)  # deleted_at, as a stored row has it
        assert len(stored) == len(LIFECYCLE_COLUMNS)
        expected[remote_id] = deal_state(stored)
    assert written_states(rows) == expected
