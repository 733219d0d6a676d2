"""Kept answers of metrics-only queries: hits within a data version, misses across versions,
viewers and variables; never for other queries; sent as stored bytes before any GraphQL
work; never across tenants or roles; the data versions read once per request."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from graphql import parse
from sqlalchemy import Engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.response_cache import (
    AsyncAnswersSchema,
    CachedMetricsResponses,
    answer_key,
    cacheable,
)
from api.schema import create_schema
from core.imports.kind import bump_data_version
from core.metrics import build_registry
from core.models import Deal
from core.models.enums import Role
from core.tenancy import Viewer
from tests.support.api import api_client
from tests.support.clock import stop_result_clocks
from tests.support.records import Tenant, create_tenant

QUERY = """query($ws: ID!, $end: Date!) { metrics(workspaceId: $ws) {
  dealsWon(period: {start: "2026-01-01", end: $end}) { value }
  won: salesRevenue(period: {start: "2026-01-01", end: $end}) { value comparison { value } }
} }"""
KPIS = frozenset(build_registry().kpis)


@pytest.fixture(autouse=True)
def _one_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests expected to hit each other's answers ask in one minute."""
    stop_result_clocks(monkeypatch)


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        found = await create_tenant(session, "acme", workspaces=2, deals=6)
        await session.commit()
        return found


@pytest.fixture
def executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The document of every GraphQL execution (a kept answer sent over HTTP is none)."""
    seen: list[str] = []
    real = AsyncAnswersSchema.execute

    async def execute(self: AsyncAnswersSchema, query: str | None, *a: Any, **kw: Any) -> Any:
        seen.append(query or "")
        return await real(self, query, *a, **kw)

    monkeypatch.setattr(AsyncAnswersSchema, "execute", execute)
    return seen


@pytest.fixture
def version_reads(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every statement that reads workspaces' data versions for a cache key (loading whole
    workspace rows, as the executor does for time zones, is not one)."""
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("SELECT workspaces.id, workspaces.data_version"):
            seen.append(statement)

    del engine  # every engine of the test: requests have a pool of their own (api.session)
    event.listen(Engine, "before_cursor_execute", before)
    yield seen
    event.remove(Engine, "before_cursor_execute", before)


async def test_kept_answers_follow_data_versions_viewers_and_variables(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    executions: list[str],
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
    # first, other viewer, other end date, after the sync: executed; "again" was kept
    assert len(executions) == 4


async def test_a_kept_answer_is_the_stored_bytes_without_graphql_work(
    engine: AsyncEngine, tenant: Tenant, executions: list[str], version_reads: list[str]
) -> None:
    body = {"query": QUERY, "variables": {"ws": tenant.workspace_ids[0], "end": "2026-06-01"}}
    headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
    async with api_client(engine) as client:
        first = await client.http.post("/graphql", json=body, headers=headers)
        reads_of_a_miss = len(version_reads)
        kept = await client.http.post("/graphql", json=body, headers=headers)
    assert first.status_code == kept.status_code == 200
    assert kept.headers["content-type"] == "application/json"
    assert kept.content == first.content  # byte for byte what execution sent
    assert executions == [QUERY]  # the second request was not parsed, validated or executed
    assert reads_of_a_miss == 1  # the data versions, read once for the executed request
    assert len(version_reads) == 2  # ... and once for the kept one


async def test_concurrent_misses_of_one_answer_compute_it_once(
    engine: AsyncEngine, tenant: Tenant, executions: list[str]
) -> None:
    """When the minute turns or a sync lands, every dashboard client misses at once."""
    body = {"query": QUERY, "variables": {"ws": tenant.workspace_ids[0], "end": "2026-06-01"}}
    headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
    async with api_client(engine) as client:
        answers = await asyncio.gather(
            *(client.http.post("/graphql", json=body, headers=headers) for _ in range(6))
        )
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert b'"dealsWon":{"value":2' in answers[0].content
    assert len(executions) == 1


async def test_kept_answers_never_cross_tenants_or_roles(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    executions: list[str],
) -> None:
    async with sessionmaker() as session:
        other = await create_tenant(session, "globex", workspaces=1, deals=3)
        await session.commit()
    # No workspace named: the same document and variables mean each key's own workspaces.
    query = '{ metrics { dealsWon(period: {start: "2026-01-01", end: "2026-06-01"}) { value } } }'
    async with api_client(engine) as client:
        answers = {
            who: await client.graphql(query, key=key)
            for who, key in [
                ("acme viewer", tenant.keys["viewer"]),
                ("globex viewer", other.keys["viewer"]),
                ("acme admin", tenant.keys["admin"]),
                ("acme ws0", tenant.keys["ws0"]),
                ("acme viewer again", tenant.keys["viewer"]),
                ("globex viewer again", other.keys["viewer"]),
            ]
        }
    won = {who: a["data"]["metrics"]["dealsWon"]["value"] for who, a in answers.items()}
    assert won["acme viewer"] == won["acme viewer again"] == won["acme admin"] == 4
    assert won["globex viewer"] == won["globex viewer again"] == 1
    assert won["acme ws0"] == 2  # a key limited to one workspace: its own answer
    assert len(executions) == 4  # each tenant, role and workspace set computed its own


def test_answer_keys_hold_the_organization_role_and_workspaces() -> None:
    viewer = Viewer("key_1", "org_a", Role.VIEWER, frozenset({"ws_1", "ws_2"}))
    versions = (("ws_1", 3), ("ws_2", 1))
    now = datetime(2026, 6, 1, 12, 0, 30, tzinfo=UTC)

    def key(who: Viewer, **changes: Any) -> Any:
        args: dict[str, Any] = {"variables": {"x": 1}, "versions": versions, **changes}
        return answer_key(QUERY, None, args["variables"], who, args["versions"], now)

    same = key(Viewer("key_2", "org_a", Role.VIEWER, frozenset({"ws_2", "ws_1"})))
    assert key(viewer) == same  # another key of the same org, role and workspaces
    assert key(viewer) != key(Viewer("key_1", "org_b", Role.VIEWER, viewer.workspace_ids))
    assert key(viewer) != key(Viewer("key_1", "org_a", Role.ADMIN, viewer.workspace_ids))
    assert key(viewer) != key(Viewer("key_1", "org_a", Role.VIEWER, frozenset({"ws_1"})))
    assert key(viewer) != key(viewer, versions=(("ws_1", 4), ("ws_2", 1)))
    assert key(viewer) != key(viewer, variables={"x": 2})


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
