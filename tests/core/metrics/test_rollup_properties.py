"""Property: a batch of requests answers the same from the daily rollups as from the base
tables, on random deals and activities (instants clustered at local midnights of the
workspace's timezone) and random requests: KPIs whose measures a rollup answers mixed with
others, periods of any length with or without a comparison, series buckets of days, weeks
and months, segments and breakdowns on rollup dimensions and on others, the workspace's
timezone or another one. The maintained rollups equal a rebuild after the ORM writes.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.db import create_engine, create_sessionmaker
from core.metrics import (
    Breakdown,
    Comparison,
    Dimension,
    DimensionRef,
    Granularity,
    KpiRequest,
    MetricsExecutor,
    PeriodSpec,
    Scope,
    Segment,
    rollups,
)
from core.models import Activity, Deal, FxRate
from tests.conftest import _truncate
from tests.core.metrics.factory import REGISTRY, Seed
from tests.core.metrics.rollup_checks import assert_maintained, assert_same

ZONES = ("Europe/Madrid", "America/Los_Angeles", "Pacific/Kiritimati", "UTC")
FIRST = date(2026, 3, 1)
DAYS = 60
NOW = datetime(2026, 7, 1, tzinfo=UTC)
KPIS = (
    "opportunitiesCreated", "dealsWon", "dealsLost", "salesRevenue", "winRate", "winLossRatio",
    "averageDealSize", "averageSalesCycleDays", "averageProfitMargin", "closeRate", "activities",
    "meetingAcceptanceRate", "positiveResponseRate", "pipelineValue", "salesGrowthRate",
)  # fmt: skip

#: KPIs reading every measure a rollup answers.
EVERY_MEASURE = (
    "opportunitiesCreated", "winLossRatio", "winRate", "averageDealSize",
    "averageSalesCycleDays", "averageProfitMargin", "activities", "meetingAcceptanceRate",
    "positiveResponseRate",
)  # fmt: skip


def _instant(zone: str) -> st.SearchStrategy[datetime]:
    """Within the data's days, often within two hours of a local midnight."""

    def at(day: int, minutes: int) -> datetime:
        local = datetime.combine(FIRST + timedelta(days=day), datetime.min.time(), ZoneInfo(zone))
        return (local + timedelta(minutes=minutes)).astimezone(UTC)

    return st.builds(
        at,
        st.integers(min_value=-5, max_value=DAYS),
        st.one_of(st.integers(-120, 120), st.integers(0, 1439)),
    )


@st.composite
def data(draw: st.DrawFn) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    when = st.one_of(st.none(), _instant(zone), _instant(zone))
    deals = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "remote_created_at": when,
                    "closed_at": when,
                    "status": st.sampled_from(["OPEN", "WON", "WON", "LOST"]),
                    "amount": st.one_of(st.none(), st.integers(0, 10_000)),
                    "cost": st.one_of(st.none(), st.integers(0, 5_000)),
                    "currency": st.sampled_from(["EUR", "EUR", "USD", "JPY", None]),
                    "owner": st.integers(0, 2),
                    "stage": st.integers(0, 2),
                    "deal_type": st.sampled_from([None, "NEW_BUSINESS", "UPSELL"]),
                    "source": st.sampled_from([None, "web"]),
                    "deleted": st.integers(0, 5).map(lambda n: n == 0),
                    "second": st.booleans(),
                }
            ),
            min_size=4,
            max_size=14,
        )
    )
    activities = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "type": st.sampled_from(["CALL", "MEETING", "MEETING", "TASK", "EMAIL"]),
                    "remote_created_at": when,
                    "due_at": when,
                    "done_at": when,
                    "meeting_status": st.sampled_from([None, "ACCEPTED", "HELD", "DECLINED"]),
                    "response": st.sampled_from([None, "POSITIVE", "NEGATIVE"]),
                    "owner": st.integers(0, 2),
                    "deleted": st.integers(0, 5).map(lambda n: n == 0),
                }
            ),
            min_size=2,
            max_size=10,
        )
    )
    return {"zone": zone, "deals": deals, "activities": activities}


DIMENSIONS = (
    Dimension.OWNER, Dimension.PIPELINE, Dimension.STAGE, Dimension.DEAL_TYPE,
    Dimension.ACTIVITY_TYPE, Dimension.CONNECTION, Dimension.SOURCE,
)  # fmt: skip
request = st.fixed_dictionaries(
    {
        "kpi": st.sampled_from(KPIS),
        "start": st.integers(0, DAYS - 1),
        "days": st.integers(1, 45),
        "compare": st.booleans(),
        "granularity": st.sampled_from([None, None, Granularity.DAY, Granularity.WEEK])
        | st.just(Granularity.MONTH),
        "breakdown": st.one_of(st.none(), st.sampled_from(DIMENSIONS)),
        "segment": st.one_of(st.none(), st.sampled_from(DIMENSIONS)),
        "timezone": st.sampled_from([None, None, None, "Asia/Kolkata"]),
    }
)


def _breakdown(dimension: Dimension | None) -> Breakdown | None:
    return None if dimension is None else Breakdown(DimensionRef(dimension))


def _segment(dimension: Dimension | None, ids: dict[Dimension, str]) -> Segment:
    if dimension is None:
        return Segment()
    return Segment.of([(DimensionRef(dimension), [ids[dimension]])])


async def _check(url: str, drawn: dict[str, Any], specs: list[dict[str, Any]]) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            seed = await Seed.create(session, timezone=drawn["zone"], currency="EUR")
            second = await seed.add_connection()
            owners = [await seed.user(f"U{i}") for i in range(3)]
            pipeline = await seed.pipeline("Sales")
            stages = [await seed.stage(pipeline, f"S{i}") for i in range(3)]
            # Rates and rows added at once: one flush refreshes the rollups of all of them.
            session.add_all(
                FxRate(
                    workspace_id=seed.workspace.id,
                    base_currency="EUR",
                    currency="USD",
                    day=FIRST + timedelta(days=day),
                    rate=Decimal("0.5"),
                )
                for day in range(-40, DAYS + 40)
            )
            for n, d in enumerate(drawn["deals"]):
                session.add(
                    Deal(
                        workspace_id=seed.workspace.id,
                        connection_id=(second if d["second"] else seed.connection).id,
                        remote_id=f"d{n}",
                        synced_at=NOW,
                        remote_created_at=d["remote_created_at"],
                        closed_at=d["closed_at"],
                        status=d["status"],
                        amount=None if d["amount"] is None else Decimal(d["amount"]),
                        cost=None if d["cost"] is None else Decimal(d["cost"]),
                        currency=d["currency"],
                        owner_remote_id=owners[d["owner"]].remote_id,
                        pipeline_remote_id=pipeline.remote_id,
                        stage_remote_id=stages[d["stage"]].remote_id,
                        deal_type=d["deal_type"],
                        source=d["source"],
                        deleted_at=NOW if d["deleted"] else None,
                    )
                )
            for n, a in enumerate(drawn["activities"]):
                session.add(
                    Activity(
                        workspace_id=seed.workspace.id,
                        connection_id=seed.connection.id,
                        remote_id=f"a{n}",
                        synced_at=NOW,
                        type=a["type"],
                        remote_created_at=a["remote_created_at"],
                        due_at=a["due_at"],
                        done_at=a["done_at"],
                        meeting_status=a["meeting_status"],
                        response=a["response"],
                        owner_remote_id=owners[a["owner"]].remote_id,
                        deleted_at=NOW if a["deleted"] else None,
                    )
                )
            await session.commit()
            await assert_maintained(await session.connection(), seed.workspace.id)
            ids = {
                Dimension.OWNER: str(owners[0].id),
                Dimension.PIPELINE: str(pipeline.id),
                Dimension.STAGE: str(stages[1].id),
                Dimension.DEAL_TYPE: "UPSELL",
                Dimension.ACTIVITY_TYPE: "MEETING",
                Dimension.CONNECTION: second.id,
                Dimension.SOURCE: "web",
            }
            requests = [
                KpiRequest(
                    s["kpi"],
                    period=PeriodSpec(
                        start=FIRST + timedelta(days=s["start"]),
                        end=FIRST + timedelta(days=s["start"] + s["days"]),
                    ),
                    timezone=s["timezone"],
                    segment=_segment(s["segment"], ids),
                    compare_to=Comparison.PREVIOUS_PERIOD if s["compare"] else None,
                    granularity=s["granularity"],
                    breakdown=_breakdown(s["breakdown"]),
                )
                for s in specs
            ]
            # Every KPI over the data's days, by week, compared and by owner: each rolled
            # measure is read in every example, beside the random requests.
            whole = PeriodSpec(start=FIRST, end=FIRST + timedelta(days=DAYS))
            by_owner = Breakdown(DimensionRef(Dimension.OWNER))
            requests += [
                KpiRequest(k, period=whole, granularity=Granularity.WEEK, breakdown=by_owner)
                for k in EVERY_MEASURE
            ]
            requests += [
                KpiRequest(k, period=whole, compare_to=Comparison.PREVIOUS_PERIOD)
                for k in EVERY_MEASURE
            ]
            scope = Scope((seed.workspace.id,))
            executor = MetricsExecutor(REGISTRY)
            rolled = await executor.run(session, scope, requests, now=NOW)
            with rollups.from_base_tables():
                base = await executor.run(session, scope, requests, now=NOW)
        for r, b in zip(rolled, base, strict=True):
            if isinstance(b, Exception):
                assert type(r) is type(b) and str(r) == str(b)
            else:
                assert_same(r, b)
    finally:
        await _truncate(engine)
        await engine.dispose()


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(drawn=data(), specs=st.lists(request, min_size=1, max_size=5))
def test_rollups_answer_as_the_base_tables(
    database_url: str, drawn: dict[str, Any], specs: list[dict[str, Any]]
) -> None:
    asyncio.run(_check(database_url, drawn, specs))
