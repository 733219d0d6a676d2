"""A stand-in GraphQL server with exactly DESIGN.md's "GraphQL contract" and fixed answers.

The dashboard is written against that contract, parts of which (target attainment, the
stageConversion funnel, records behind a number) arrive on the real server in later
issues. Serving the page with this stand-in checks how it renders those parts today; the
real-server browser test checks everything the real server already has.
"""

from __future__ import annotations

import itertools
from datetime import date
from enum import Enum

import strawberry
from fastapi import FastAPI, Request, Response
from strawberry.fastapi import GraphQLRouter
from strawberry.types import Info

from api.dashboard import router as dashboard_router

KEY = "ck_contract-stand-in"
WORKSPACE = "ws_contract"
#: Deals behind salesRevenue, in pages of the caller's size.
DEAL_COUNT = 45
#: (stage, deals that reached it) in pipeline order: the funnel.
STAGES = [("Lead in", 50), ("Qualified", 30), ("Proposal", 20), ("Won", 10)]
REVENUE, TARGET = 80_000.0, 100_000.0
#: The (period, segment) of every salesRevenue request, for tests to check what was asked.
REQUESTS: list[tuple[PeriodInput | None, SegmentInput | None]] = []


@strawberry.enum
class PeriodPreset(Enum):
    THIS_MONTH = "THIS_MONTH"
    LAST_MONTH = "LAST_MONTH"
    THIS_QUARTER = "THIS_QUARTER"
    LAST_365_DAYS = "LAST_365_DAYS"


@strawberry.enum
class Comparison(Enum):
    PREVIOUS_PERIOD = "PREVIOUS_PERIOD"
    SAME_PERIOD_LAST_YEAR = "SAME_PERIOD_LAST_YEAR"


@strawberry.enum
class Granularity(Enum):
    MONTH = "MONTH"


@strawberry.enum
class Dimension(Enum):
    OWNER = "OWNER"
    STAGE = "STAGE"


@strawberry.input
class PeriodInput:
    preset: PeriodPreset | None = None
    start: date | None = None
    end: date | None = None


@strawberry.input
class SegmentInput:
    owners: list[strawberry.ID] | None = None
    stages: list[strawberry.ID] | None = None


@strawberry.input
class BreakdownInput:
    by: Dimension
    top: int = 10


@strawberry.type
class Workspace:
    id: strawberry.ID
    name: str
    timezone: str
    currency: str


@strawberry.type
class Period:
    start: date
    end: date
    timezone: str


@strawberry.type
class KpiComparison:
    value: float | None
    change: float | None
    change_ratio: float | None


@strawberry.type
class KpiPoint:
    start: date
    end: date
    label: str
    value: float | None


@strawberry.type
class KpiGroup:
    key: str | None
    label: str
    value: float | None
    numerator: float | None
    denominator: float | None


@strawberry.type
class KpiTarget:
    value: float | None
    attainment: float | None


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class Deal(Node):
    name: str
    amount: float
    currency: str
    status: str


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RecordEdge:
    cursor: str
    node: Node


@strawberry.type
class RecordConnection:
    total_count: int
    edges: list[RecordEdge]
    page_info: PageInfo


@strawberry.type
class KpiResult:
    name: str
    unit: str
    value: float | None
    numerator: float | None
    denominator: float | None
    null_reason: str | None
    currency: str | None
    missing_fx_count: int
    period: Period
    comparison: KpiComparison | None
    series: list[KpiPoint] | None
    breakdown: list[KpiGroup] | None
    target: KpiTarget | None

    @strawberry.field
    def records(self, first: int = 20, after: str | None = None) -> RecordConnection:
        start = int(after) + 1 if after else 0
        end = min(start + first, DEAL_COUNT)
        edges = [
            RecordEdge(
                cursor=str(i),
                node=Deal(
                    id=strawberry.ID(str(i + 1)),
                    name=f"Deal {i + 1}",
                    amount=1000.0,
                    currency="USD",
                    status="WON",
                ),
            )
            for i in range(start, end)
        ]
        return RecordConnection(
            total_count=DEAL_COUNT,
            edges=edges,
            page_info=PageInfo(has_next_page=end < DEAL_COUNT, end_cursor=str(end - 1)),
        )


def _stage_groups() -> list[KpiGroup]:
    """As the real KPI: per stage, denominator = deals that reached it, numerator = those
    that went on; listed by value (not in pipeline order), then the "other" bucket."""
    going_on = [n for _, n in STAGES[1:]] + [0]
    groups = [
        KpiGroup(key=f"s{i}", label=name, value=on / reached, numerator=on, denominator=reached)
        for i, ((name, reached), on) in enumerate(zip(STAGES, going_on, strict=True))
    ]
    other = KpiGroup(key=None, label="Other", value=0.5, numerator=1, denominator=2)
    return [*sorted(groups, key=lambda g: g.value or 0), other]


def _period() -> Period:
    return Period(start=date(2026, 1, 1), end=date(2026, 4, 1), timezone="UTC")


@strawberry.type
class Metrics:
    @strawberry.field
    def sales_revenue(
        self,
        period: PeriodInput | None = None,
        segment: SegmentInput | None = None,
        compare_to: Comparison | None = None,
        granularity: Granularity | None = None,
        breakdown: BreakdownInput | None = None,
    ) -> KpiResult:
        REQUESTS.append((period, segment))
        months = [date(2026, m, 1) for m in range(1, 5)]
        return KpiResult(
            name="salesRevenue",
            unit="MONEY",
            value=REVENUE,
            numerator=None,
            denominator=None,
            null_reason=None,
            currency="USD",
            missing_fx_count=0,
            period=_period(),
            comparison=KpiComparison(value=64_000.0, change=16_000.0, change_ratio=0.25)
            if compare_to
            else None,
            series=[
                KpiPoint(start=a, end=b, label=a.isoformat()[:7], value=20_000.0 * (i + 1))
                for i, (a, b) in enumerate(itertools.pairwise(months))
            ]
            if granularity
            else None,
            breakdown=[
                KpiGroup(key="u1", label="Ada", value=REVENUE, numerator=None, denominator=None)
            ]
            if breakdown
            else None,
            target=KpiTarget(value=TARGET, attainment=REVENUE / TARGET),
        )

    @strawberry.field
    def stage_conversion(
        self,
        period: PeriodInput | None = None,
        segment: SegmentInput | None = None,
        breakdown: BreakdownInput | None = None,
    ) -> KpiResult:
        return KpiResult(
            name="stageConversion",
            unit="RATIO",
            value=None,
            numerator=None,
            denominator=None,
            null_reason=None,
            currency=None,
            missing_fx_count=0,
            period=_period(),
            comparison=None,
            series=None,
            breakdown=_stage_groups(),
            target=None,
        )


@strawberry.type
class Query:
    @strawberry.field
    def workspaces(self, info: Info) -> list[Workspace]:
        request: Request = info.context["request"]
        if request.headers.get("authorization") != f"Bearer {KEY}":
            raise PermissionError("missing or invalid API key")
        return [
            Workspace(
                id=strawberry.ID(WORKSPACE), name="Contract Co", timezone="UTC", currency="USD"
            )
        ]

    @strawberry.field
    def metrics(
        self,
        workspace_id: strawberry.ID | None = None,
        workspace_ids: list[strawberry.ID] | None = None,
        currency: str | None = None,
    ) -> Metrics:
        return Metrics()


def contract_app() -> FastAPI:
    app = FastAPI()
    app.include_router(
        GraphQLRouter(strawberry.Schema(query=Query, types=[Deal])), prefix="/graphql"
    )
    app.include_router(dashboard_router)

    @app.get("/events/sync-finished")
    async def no_events() -> Response:
        """The stand-in has no syncs: 204 tells the page there is no stream to read."""
        return Response(status_code=204)

    return app
