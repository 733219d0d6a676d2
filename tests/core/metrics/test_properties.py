"""Property: the compiled SQL agrees with a plain-Python reading of KPIS.md on random data.

Runs on SQLite and PostgreSQL. Timestamps straddle the period's bounds and the spring DST
change of Europe/Madrid; currencies include one converted through FX and one without rates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import create_engine, create_sessionmaker
from core.metrics import (
    Breakdown,
    Dimension,
    DimensionRef,
    KpiRequest,
    KpiResult,
    MetricsExecutor,
    PeriodSpec,
    Scope,
)
from tests.conftest import _truncate
from tests.core.metrics.factory import REGISTRY, Seed

TZ = ZoneInfo("Europe/Madrid")
START = datetime(2026, 3, 1, tzinfo=TZ).astimezone(UTC)
END = datetime(2026, 4, 1, tzinfo=TZ).astimezone(UTC)
ORIGIN = datetime(2026, 2, 25, tzinfo=UTC)
USD_PER_EUR = 0.5  # 1 USD = 0.5 EUR


@dataclass(frozen=True)
class D:
    created: int  # minutes after ORIGIN
    closed: int | None
    status: str
    amount: int
    currency: str
    owner: int
    deleted: bool


def _at(minutes: int) -> datetime:
    return ORIGIN + timedelta(minutes=minutes)


def _near(bound: datetime) -> st.SearchStrategy[int]:
    """Minutes within three hours of a period bound, where timezone mistakes show."""
    centre = int((bound - ORIGIN).total_seconds() // 60)
    return st.integers(min_value=centre - 180, max_value=centre + 180)


minutes = st.one_of(st.integers(min_value=0, max_value=60 * 24 * 45), _near(START), _near(END))
deal = st.builds(
    lambda created, gap, status, amount, currency, owner, deleted: D(
        created,
        None if status == "OPEN" else created + gap,
        status,
        amount,
        currency,
        owner,
        deleted,
    ),
    minutes,
    st.integers(min_value=0, max_value=60 * 24 * 20) | st.integers(min_value=0, max_value=240),
    st.sampled_from(["OPEN", "WON", "LOST"]),
    st.integers(min_value=0, max_value=10_000),
    st.sampled_from(["EUR", "EUR", "USD", "JPY"]),
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=0, max_value=4).map(lambda n: n == 0),  # one deal in five deleted
)


def _in(ts: datetime | None) -> bool:
    return ts is not None and START <= ts < END


def expected(deals: list[D]) -> dict[str, float | None]:
    live = [d for d in deals if not d.deleted]
    won = [d for d in live if d.status == "WON" and _in(_at(d.closed or 0))]
    lost = [d for d in live if d.status == "LOST" and _in(_at(d.closed or 0))]
    open_any = [
        d
        for d in live
        if _at(d.created) < END and (d.status == "OPEN" or _at(d.closed or 0) > START)
    ]
    open_end = [
        d
        for d in live
        if _at(d.created) < END and (d.status == "OPEN" or _at(d.closed or 0) >= END)
    ]
    rate = {"EUR": 1.0, "USD": USD_PER_EUR}
    revenue = sum(d.amount * rate[d.currency] for d in won if d.currency in rate)
    cycle = [(_at(d.closed or 0) - _at(d.created)).total_seconds() / 86400 for d in won]
    return {
        "dealsWon": len(won),
        "winRate": len(won) / (len(won) + len(lost)) if won or lost else None,
        "closeRate": len(won) / len(open_any) if open_any else None,
        "salesRevenue": revenue,
        "missing": sum(1 for d in won if d.currency not in rate),
        "openDeals": len(open_end),
        "pipelineValue": sum(d.amount * rate[d.currency] for d in open_end if d.currency in rate),
        "opportunitiesCreated": sum(1 for d in live if _in(_at(d.created))),
        "averageSalesCycleDays": sum(cycle) / len(cycle) if cycle else None,
    }


async def _check(url: str, deals: list[D]) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            seed = await Seed.create(session, timezone="Europe/Madrid", currency="EUR")
            owners = [await seed.user(f"U{i}") for i in range(3)]
            for day in range(0, 50):
                await seed.rate(
                    date(2026, 2, 20) + timedelta(days=day), "USD", str(USD_PER_EUR), base="EUR"
                )
            for d in deals:
                await seed.deal(
                    remote_created_at=_at(d.created),
                    closed_at=_at(d.closed) if d.closed is not None else None,
                    status=d.status,
                    amount=d.amount,
                    currency=d.currency,
                    owner_remote_id=owners[d.owner].remote_id,
                    deleted_at=_at(0) if d.deleted else None,
                )
            await session.commit()
            period = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
            names = [
                "dealsWon",
                "winRate",
                "closeRate",
                "salesRevenue",
                "openDeals",
                "pipelineValue",
                "opportunitiesCreated",
                "averageSalesCycleDays",
            ]
            by_owner = Breakdown(DimensionRef(Dimension.OWNER))
            requests = [KpiRequest(n, period=period) for n in names]
            requests.append(KpiRequest("salesRevenue", period=period, breakdown=by_owner))
            results = await MetricsExecutor(REGISTRY).run(
                session, Scope((seed.workspace.id,)), requests, now=datetime(2026, 6, 1, tzinfo=UTC)
            )
        want = expected(deals)
        for name, result in zip(names, results, strict=False):
            assert isinstance(result, KpiResult)
            if want[name] is None:
                assert result.value is None and result.null_reason, name
            else:
                assert result.value == pytest.approx(want[name], rel=1e-9, abs=1e-6), name
        revenue, grouped = results[3], results[-1]
        assert isinstance(revenue, KpiResult) and isinstance(grouped, KpiResult)
        assert revenue.missing_fx_count == want["missing"]
        assert grouped.breakdown is not None
        assert sum(p.value or 0 for p in grouped.breakdown) == pytest.approx(revenue.value or 0)
    finally:
        await _truncate(engine)
        await engine.dispose()


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(deals=st.lists(deal, max_size=25))
def test_sql_matches_python_reference(database_url: str, deals: list[D]) -> None:
    asyncio.run(_check(database_url, deals))
