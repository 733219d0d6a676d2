"""Property: the lifecycle SQL agrees with a plain-Python reading of KPIS.md on random wins.

Random accounts win deals at random instants (many near local midnight of Europe/Madrid and
its spring DST change) with a short inactivityDays, so customers are won, lost and won back
around a random period; SQLite and PostgreSQL must both give the Python answer.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import create_engine, create_sessionmaker
from core.metrics import KpiRequest, KpiResult, MetricsExecutor, PeriodSpec, Scope
from tests.conftest import _truncate
from tests.core.metrics.factory import REGISTRY, Seed

TZ = ZoneInfo("Europe/Madrid")
ORIGIN = datetime(2026, 1, 1, tzinfo=TZ)
NOW = datetime(2027, 1, 1, tzinfo=UTC)
NAMES = (
    "newCustomers",
    "activeCustomers",
    "customerChurnRate",
    "netCustomerChurnRate",
    "customerRetentionRate",
    "averageCustomerLifetimeDays",
)

#: Minutes after ORIGIN: anywhere in 150 days, or within 2 hours of a local midnight.
instant = st.one_of(
    st.integers(min_value=0, max_value=150 * 1440),
    st.tuples(st.integers(min_value=0, max_value=150), st.integers(-120, 120)).map(
        lambda t: t[0] * 1440 + t[1]
    ),
)
account_wins = st.lists(instant, min_size=1, max_size=5)


def _local_day(minutes: int) -> date:
    return (ORIGIN.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(TZ).date()


def _utc(minutes: int) -> datetime:
    return ORIGIN.astimezone(UTC) + timedelta(minutes=minutes)


def stretches(wins: list[int], days: int) -> list[tuple[date, date]]:
    """Merged [start, end) local-date intervals of one account's wins."""
    out: list[tuple[date, date]] = []
    for day in sorted(_local_day(m) for m in wins):
        end = day + timedelta(days=days)
        if out and day <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((day, end))
    return out


def expected(accounts: list[list[int]], days: int, start: date, end: date) -> dict[str, object]:
    every = [s for wins in accounts for s in stretches(wins, days)]
    before, last = start - timedelta(days=1), end - timedelta(days=1)
    new = sum(1 for s, _ in every if start <= s <= last)
    lost = [(s, e) for s, e in every if start <= e <= last]
    at_start = sum(1 for s, e in every if s <= before < e)
    at_end = sum(1 for s, e in every if s <= last < e)
    # Retained: active the day before and on the last day, even through a loss in between.
    per_account = [stretches(wins, days) for wins in accounts]
    retained = sum(
        1
        for spans in per_account
        if any(s <= before < e for s, e in spans) and any(s <= last < e for s, e in spans)
    )
    lifetime = [(e - s).days for s, e in lost]
    return {
        "newCustomers": new,
        "activeCustomers": at_end,
        "customerChurnRate": len(lost) / at_start if at_start else None,
        "netCustomerChurnRate": (at_start - at_end) / at_start if at_start else None,
        "customerRetentionRate": retained / at_start if at_start else None,
        "averageCustomerLifetimeDays": sum(lifetime) / len(lifetime) if lifetime else None,
    }


async def _check(url: str, accounts: list[list[int]], days: int, start: date, end: date) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            seed = await Seed.create(session, timezone="Europe/Madrid", inactivity_days=days)
            for n, wins in enumerate(accounts):
                for m in wins:
                    await seed.deal(status="WON", closed_at=_utc(m), account_remote_id=f"a{n}")
            await session.commit()
            period = PeriodSpec(start=start, end=end)
            results = await MetricsExecutor(REGISTRY).run(
                session,
                Scope((seed.workspace.id,)),
                [KpiRequest(name, period=period) for name in NAMES],
                now=NOW,
            )
        want = expected(accounts, days, start, end)
        for name, result in zip(NAMES, results, strict=True):
            assert isinstance(result, KpiResult)
            if want[name] is None:
                assert result.value is None and result.null_reason, name
            else:
                assert result.value == pytest.approx(want[name], rel=1e-9), name
    finally:
        await _truncate(engine)
        await engine.dispose()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    accounts=st.lists(account_wins, min_size=1, max_size=6),
    days=st.integers(min_value=1, max_value=60),
    first=st.integers(min_value=0, max_value=140),
    length=st.integers(min_value=1, max_value=70),
)
def test_lifecycle_sql_matches_python(
    database_url: str, accounts: list[list[int]], days: int, first: int, length: int
) -> None:
    start = ORIGIN.date() + timedelta(days=first)
    asyncio.run(_check(database_url, accounts, days, start, start + timedelta(days=length)))
