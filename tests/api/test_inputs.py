"""Malformed and hostile inputs through HTTP: precise errors, never a 500, nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.errors import should_mask_error
from core.models import ApiKey, Deal, Organization, Target, Workspace
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE deals; --",
    '" OR ""="',
    "%",
    "_",
    "ws_%' UNION SELECT key_hash FROM api_keys --",
    "a\u0000b",
    "ü💥\u202e",
    "x" * 5000,
]

#: Every string argument of the schema, each fed the payload as the variable $s.
STRING_ARGUMENTS = [
    "query($s: ID!) { workspace(id: $s) { name } }",
    "query($s: ID!) { deal(id: $s) { name } }",
    "query($s: ID!) { connection(id: $s) { name } }",
    "query($s: ID!) { deals(workspaceIds: [$s]) { totalCount } }",
    "query($s: ID!) { connections(workspaceIds: [$s]) { id } }",
    "query($s: String) { deals(after: $s) { totalCount } }",
    "query($s: String!) { deals(segment: {sources: [$s], countries: [$s], regions: [$s],"
    " industries: [$s], dealTypes: [$s], statuses: [$s]}) { totalCount } }",
    "query($s: ID!) { deals(segment: {owners: [$s], connections: [$s]}) { totalCount } }",
    'query($s: String) { deals(period: {start: "2026-01-01", end: "2026-02-01",'
    " timezone: $s}) { totalCount } }",
    "query($s: String) { targets(kpi: $s) { kpi } }",
    "mutation($s: String!) { updateOrganization(input: {name: $s}) { __typename } }",
    "mutation($s: String!) { createWorkspace(input: {name: $s, timezone: $s, currency: $s})"
    " { __typename } }",
    "mutation($s: ID!) { updateWorkspace(input: {id: $s, name: $s}) { __typename } }",
    "mutation($s: String!) { createApiKey(input: {name: $s, role: $s}) { __typename } }",
    "mutation($s: ID!) { revokeApiKey(input: {id: $s}) { __typename } }",
    "mutation($s: ID!) { pauseConnection(input: {id: $s}) { __typename } }",
    "mutation($s: ID!) { deleteConnection(input: {id: $s}) { __typename } }",
    "mutation($s: ID!) { updateConnectionMappings(input: {id: $s, changes: {a: {b: $s}}})"
    " { __typename } }",
    "mutation($s: ID!) { importData(input: {workspaceId: $s, kind: SPEND, csv: $s})"
    " { __typename } }",
    "mutation($s: ID!) { triggerSync(input: {connectionId: $s}) { __typename } }",
    "mutation($s: String!) { verifyCredentials(input: {connector: $s, credentials:"
    " [{name: $s, value: $s}], baseUrl: $s}) { __typename } }",
    'mutation($s: String!) { setTarget(input: {workspaceId: $s, kpi: $s, periodStart: "2026-01-01",'
    ' periodEnd: "2026-02-01", value: "1"}) { __typename } }',
]


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=3)


async def _state(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[Any, ...]:
    async with sessionmaker() as session:
        counts = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Deal, Workspace, ApiKey, Target)
        ]
        names = (await session.scalars(select(Organization.name))).all()
        revoked = (await session.scalars(select(ApiKey.revoked_at))).all()
    return counts, names, revoked


async def test_injection_in_every_string_argument_changes_nothing(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    before = await _state(sessionmaker)
    async with api_client(engine, rate_limit_per_minute=0) as client:
        for query in STRING_ARGUMENTS:
            for payload in INJECTIONS:
                response = await client.http.post(
                    "/graphql",
                    json={"query": query, "variables": {"s": payload}},
                    headers={"Authorization": f"Bearer {tenant.keys['admin']}"},
                )
                assert response.status_code == 200, (query, payload, response.text)
                body = response.json()
                messages = [e["message"] for e in body.get("errors", [])]
                assert "Unexpected error." not in messages, (query, payload, body)
    counts, names, revoked = await _state(sessionmaker)
    assert counts == before[0]  # no deal, workspace, key or target created or deleted
    assert revoked == before[2]  # no key revoked
    assert names == ["ü💥\u202e"]  # the last valid name, stored verbatim, never as SQL


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        ('{ deals(period: {start: "2026-13-45", end: "2026-02-01"}) { totalCount } }', {},
         "Date"),
        ("query($f: Int!) { deals(first: $f) { totalCount } }", {"f": "abc"}, "Int"),
        ("query($f: Int!) { deals(first: $f) { totalCount } }", {"f": 2**40}, "exceeds the limit"),
        ("{ deals(first: 10, unknown: 1) { totalCount } }", {}, "Unknown argument"),
        ("{ deals { nope } }", {}, "Cannot query field"),
        ("{ deals(segment: {sources: [\"a\\u0000\"]}) { totalCount } }", {}, "NUL character"),
        ("{ deals(", {}, "Syntax Error"),
        ("mutation { updateWorkspace(input: {}) { __typename } }", {}, "id"),
    ],
)  # fmt: skip
async def test_malformed_queries_get_errors_not_500s(
    engine: AsyncEngine, tenant: Tenant, query: str, variables: dict[str, Any], message: str
) -> None:
    async with api_client(engine) as client:
        response = await client.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {tenant.keys['admin']}"},
        )
    assert response.status_code in (200, 400)
    errors = response.json()["errors"]
    assert message in errors[0]["message"]


async def test_malformed_http_bodies_are_client_errors(engine: AsyncEngine, tenant: Tenant) -> None:
    headers = {"Authorization": f"Bearer {tenant.keys['viewer']}"}
    async with api_client(engine) as client:
        not_json = await client.http.post(
            "/graphql",
            content=b"{not json",
            headers={**headers, "Content-Type": "application/json"},
        )
        no_query = await client.http.post("/graphql", json={"variables": {}}, headers=headers)
        list_body = await client.http.post("/graphql", json=[1, 2], headers=headers)
        bad_vars = await client.http.post(
            "/graphql", json={"query": "{ viewer { role } }", "variables": "x"}, headers=headers
        )
    for response in (not_json, no_query, list_body, bad_vars):
        assert 400 <= response.status_code < 500, response.text


def test_internal_errors_are_masked_with_an_error_id() -> None:
    internal = GraphQLError("boom", original_error=RuntimeError("SELECT * FROM api_keys"))
    ours = GraphQLError("bad", original_error=ValueError("x"))
    assert should_mask_error(internal) is True
    assert internal.extensions is not None and len(internal.extensions["errorId"]) == 12
    assert should_mask_error(ours) is True
    assert should_mask_error(GraphQLError("Syntax Error")) is False
