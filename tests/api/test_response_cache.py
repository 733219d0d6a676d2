"""Kept answers of metrics-only queries: hits within a data version, misses across versions,
viewers and variables; never for other queries."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from graphql import parse
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.response_cache import CachedMetricsResponses, ResponseCache, cacheable
from api.schema import create_schema
from core.imports.kind import bump_data_version
from core.metrics import build_registry
from core.models import Deal
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

QUERY = """query($ws: ID!, $end: Date!) { metrics(workspaceId: $ws) {
  dealsWon(period: {start: "2026-01-01", end: $end}) { value }
  won: salesRevenue(period: {start: "2026-01-01", end: $end}) { value comparison { value } }
} }"""
KPIS = frozenset(build_registry().kpis)


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        found = await create_tenant(session, "acme", workspaces=2, deals=6)
        await session.commit()
        return found


@pytest.fixture
def hits(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """One entry per lookup: True for a kept answer."""
    seen: list[bool] = []
    real = ResponseCache.get

    def get(self: ResponseCache, key: Any) -> Any:
        found = real(self, key)
        seen.append(found is not None)
        return found

    monkeypatch.setattr(ResponseCache, "get", get)
    return seen


async def test_kept_answers_follow_data_versions_viewers_and_variables(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    hits: list[bool],
) -> None:
    ws = tenant.workspace_ids[0]
    june = {"ws": ws, "end": "2026-06-01"}
    async with api_client(engine) as client:
        first = await client.graphql(QUERY, june, key=tenant.keys["viewer"])
        again = await client.graphql(QUERY, june, key=tenant.keys["viewer"])
        other_viewer = await client.graphql(QUERY, june, key=tenant.keys["ws0"])
        other_end = await client.graphql(
            QUERY, {"ws": ws, "end": "2026-01-03"}, key=tenant.keys["viewer"]
        )
        async with sessionmaker() as session:  # what a sync batch does: rows, then a version
            session.add(
                Deal(workspace_id=ws, connection_id=tenant.connection_ids[0], remote_id="new",
                     synced_at=datetime(2026, 2, 1, tzinfo=UTC), amount=Decimal(500),
                     currency="EUR", status="WON", closed_at=datetime(2026, 2, 1, tzinfo=UTC),
                     remote_created_at=datetime(2026, 1, 20, tzinfo=UTC))
            )  # fmt: skip
            await bump_data_version(session, ws)
            await session.commit()
        after_sync = await client.graphql(QUERY, june, key=tenant.keys["viewer"])
    assert "errors" not in first, first
    assert again == first
    assert other_viewer == first  # same numbers, but not the same viewer: computed again
    won = first["data"]["metrics"]["dealsWon"]["value"]
    assert won == 2  # d0 and d3 of the seed closed in January
    assert other_end["data"]["metrics"]["dealsWon"]["value"] == 0
    assert after_sync["data"]["metrics"]["dealsWon"]["value"] == won + 1
    assert hits == [False, True, False, False, False]


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        (QUERY, True),
        ("{ metrics { dealsWon { value } __typename } }", True),
        ("query A { metrics { dealsWon { value } } } query B { viewer { role } }", False),
        ("{ metrics { dealsWon { value } } kpiDefinitions { name } }", False),
        ("{ metrics { kpi(name: \"myKpi\") { value } } }", False),
        ("{ metrics { notBuiltIn { value } } }", False),
        ("{ metrics { ...M } } fragment M on Metrics { dealsWon { value } }", False),
        ("{ metrics { dealsWon { value records { totalCount } } } }", False),
        ("mutation { metrics { dealsWon { value } } }", False),
    ],
)  # fmt: skip
def test_only_built_in_kpis_of_metrics_are_kept(query: str, kept: bool) -> None:
    assert cacheable(parse(query), None, KPIS) is kept


def test_the_named_operation_decides() -> None:
    document = parse("query A { metrics { dealsWon { value } } } query B { viewer { role } }")
    assert cacheable(document, "A", KPIS) is True
    assert cacheable(document, "B", KPIS) is False


def test_synchronous_execution_runs_without_kept_answers() -> None:
    schema = create_schema()
    assert any(isinstance(e, CachedMetricsResponses) for e in schema.get_extensions())
    assert not any(isinstance(e, CachedMetricsResponses) for e in schema.get_extensions(sync=True))
    assert schema.execute_sync("{ __typename }").data == {"__typename": "Query"}
