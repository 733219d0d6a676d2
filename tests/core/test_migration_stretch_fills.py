"""The frozen SQL with which migrations 0012 and 0015 fill ``customer_stretches`` from the
stored deals gives the rows the application computes (core.metrics.stretches), on both
databases: the migrations import no application code, so this is what ties them."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.stretch_refresh import STRETCH_COLUMNS
from core.metrics.stretches import computed_stretches
from core.models import CustomerStretch
from tests.core.metrics.factory import Seed, utc

VERSIONS = Path(__file__).parents[2] / "core" / "migrations" / "versions"


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _deals(seed: Seed) -> None:
    """Wins near Madrid's local midnight, contracts with and without ends, a recurring
    amount without dates, a lost-and-won-back account, contact customers, a deleted win."""
    await seed.deal(status="WON", account_remote_id="a1", closed_at=utc(2025, 1, 31, 23, 30))
    await seed.deal(status="WON", account_remote_id="a1", closed_at=utc(2025, 2, 10, 12))
    await seed.deal(status="WON", account_remote_id="a1", closed_at=utc(2025, 6, 1, 8))
    await seed.deal(
        status="WON",
        account_remote_id="a1",
        closed_at=utc(2025, 9, 1, 8),
        contract_start=date(2025, 9, 1),
        contract_end=date(2025, 9, 2),
        recurring_amount=10,
    )
    await seed.deal(
        status="WON",
        account_remote_id="a2",
        closed_at=utc(2025, 3, 1, 22, 59),
        contract_start=date(2025, 3, 5),
        recurring_amount=20,
        source="Referral",
        owner_remote_id="u1",
    )
    await seed.deal(
        status="WON", account_remote_id="a3", closed_at=utc(2025, 4, 1), recurring_amount=5
    )
    await seed.deal(status="WON", account_remote_id="a3", closed_at=None, recurring_amount=7)
    await seed.deal(status="WON", contact_remote_id="c1", closed_at=utc(2025, 5, 5))
    await seed.deal(status="WON", contact_remote_id="c1", closed_at=utc(2025, 8, 5))
    await seed.deal(
        status="WON",
        account_remote_id="a4",
        closed_at=utc(2025, 5, 5),
        deleted_at=utc(2025, 6, 1),
    )
    await seed.deal(status="LOST", account_remote_id="a4", closed_at=utc(2025, 5, 6))
    await seed.deal(status="WON", closed_at=utc(2025, 5, 7))  # no customer


async def test_migration_fills_equal_the_computed_stretches(session: AsyncSession) -> None:
    seed = await Seed.create(session, timezone="Europe/Madrid", inactivity_days=30)
    await _deals(seed)
    conn = await session.connection()
    await conn.execute(delete(CustomerStretch))
    await conn.run_sync(_migration("0012_customer_stretches").fill_stretches)
    await conn.execute(text(_migration("0015_customer_paths")._FILL))

    table = CustomerStretch.__table__.c
    stored = (await conn.execute(select(*(table[c] for c in STRETCH_COLUMNS)))).all()
    src = computed_stretches([seed.workspace.id])
    computed = (await conn.execute(select(*(src.c[c] for c in STRETCH_COLUMNS)))).all()
    assert sorted(map(tuple, stored), key=repr) == sorted(map(tuple, computed), key=repr)
    # The data reaches what the fills must get right: a second stretch, contact customers.
    assert len(stored) >= 6
    assert {row.customer for row in stored} == {"a:a1", "a:a2", "a:a3", "c:c1"}
    assert any(row.prev_end_day is not None for row in stored)
