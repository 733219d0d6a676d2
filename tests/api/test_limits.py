"""Abuse through HTTP: deep, wide, aliased, expensive and oversized queries; introspection."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import api.limits
from api.schema import create_schema
from core.settings import Settings
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

PAGE = "deals(first: {n}) {{ edges {{ node {{ id name owner {{ name }} stage {{ name }} }} }} }}"


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=3)


async def test_expensive_queries_are_refused_before_they_run(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    aliased = " ".join(f"a{i}: {PAGE.format(n=500)}" for i in range(8))
    fragment = """query { deals(first: $n) { edges { node { ...D } } } }
                  fragment D on Deal { id name owner { name } account { name } }"""
    async with api_client(engine, graphql_max_cost=20_000) as client:
        one_page = await client.graphql(f"{{ {PAGE.format(n=500)} }}", key=tenant.keys["viewer"])
        eight = await client.graphql(f"{{ {aliased} }}", key=tenant.keys["viewer"])
        via_variable = await client.graphql(
            fragment.replace("query {", "query($n: Int!) {"), {"n": 5000},
            key=tenant.keys["viewer"],
        )  # fmt: skip
    assert "errors" not in one_page
    for body in (eight, via_variable):
        assert body["data"] is None
        error = body["errors"][0]
        assert "exceeds the limit of 20000" in error["message"]
        assert error["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
    # deals, then 500 x (edges, node, id, name, owner, owner.name, stage, stage.name)
    assert eight["errors"][0]["extensions"]["cost"] == 8 * (1 + 500 * 8)
    # the fragment is counted where it is spread: 5000 x (edges, node + 6 fragment fields)
    assert via_variable["errors"][0]["extensions"]["cost"] == 1 + 5000 * (2 + 6)


async def test_deep_wide_and_huge_queries_are_refused(engine: AsyncEngine, tenant: Tenant) -> None:
    deep = "{ deals { edges { node { owner { name } } } } }"
    nested = "{ deals { edges { node { contact { account { owner { name } } } } } } }"
    wide = "{ " + " ".join(["viewer { role }"] * 2500) + " }"
    async with api_client(engine, graphql_max_depth=5, graphql_max_tokens=4000) as client:
        ok = await client.graphql(deep, key=tenant.keys["viewer"])
        too_deep = await client.graphql(nested, key=tenant.keys["viewer"])
        too_wide = await client.graphql(wide, key=tenant.keys["viewer"])
        huge = await client.http.post(
            "/graphql", content=b'{"query": "' + b" " * 2_000_000 + b'{ viewer { role } }"}',
            headers={"Authorization": f"Bearer {tenant.keys['viewer']}",
                     "Content-Type": "application/json"},
        )  # fmt: skip
    assert "errors" not in ok
    assert "exceeds maximum operation depth of 5" in too_deep["errors"][0]["message"]
    assert "token" in too_wide["errors"][0]["message"].lower()
    assert huge.status_code == 413
    assert huge.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"


async def test_introspection_is_kept(engine: AsyncEngine, tenant: Tenant) -> None:
    async with api_client(engine) as client:
        body = await client.graphql(get_introspection_query(), key=tenant.keys["viewer"])
        anonymous = await client.graphql("{ __schema { queryType { name } } }")
    assert "errors" not in body
    names = {t["name"] for t in body["data"]["__schema"]["types"]}
    assert {"Deal", "DealConnection", "CrmConnection", "CreateApiKeyResult"} <= names
    assert anonymous["data"]["__schema"]["queryType"]["name"] == "Query"


async def test_rate_limit_per_api_key(engine: AsyncEngine, tenant: Tenant) -> None:
    query = "{ viewer { role } }"
    async with api_client(engine, rate_limit_per_minute=60, rate_limit_burst=3) as client:
        allowed = [await client.graphql(query, key=tenant.keys["viewer"]) for _ in range(3)]
        refused = await client.http.post(
            "/graphql", json={"query": query},
            headers={"Authorization": f"Bearer {tenant.keys['viewer']}"},
        )  # fmt: skip
        other_key = await client.graphql(query, key=tenant.keys["admin"])
    assert all(b["data"]["viewer"]["role"] == "viewer" for b in allowed)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert "60 requests per minute" in error["message"]
    assert other_key["data"]["viewer"]["role"] == "admin"


async def test_cost_and_nul_follow_each_requests_variables_on_a_cached_document(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    query = "query($n: Int!, $s: [String!]) { deals(first: $n, segment: {sources: $s}) { edges { node { id name } } } }"  # noqa: E501
    key = tenant.keys["viewer"]
    async with api_client(engine, graphql_max_cost=1_000) as client:
        bodies = [
            await client.graphql(query, {"n": n, "s": s}, key=key)
            for n, s in ((10, None), (400, None), (10, ["a\x00"]), (10, ["hubspot"]), (400, None))
        ]
    small, big, nul, clean, big_again = bodies
    assert "errors" not in small and "errors" not in clean
    for body in (big, big_again):
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_EXPENSIVE"
        assert body["errors"][0]["extensions"]["cost"] == 1 + 400 * 4
    assert nul["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert "variable $s contains a NUL character" in nul["errors"][0]["message"]


async def test_a_document_is_parsed_and_validated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real_validate, real_parse = api.limits.validate_document, api.limits.parse

    def counting_validate(*args: Any) -> Any:
        calls.append("validate")
        return real_validate(*args)

    def counting_parse(*args: Any, **kwargs: Any) -> Any:
        calls.append("parse")
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(api.limits, "validate_document", counting_validate)
    monkeypatch.setattr(api.limits, "parse", counting_parse)
    schema = create_schema(Settings(graphql_max_depth=3))
    answers = [await schema.execute("{ __typename }") for _ in range(3)]
    too_deep = [await schema.execute("{ a { b { c { d } } } }") for _ in range(2)]
    assert [a.data for a in answers] == [{"__typename": "Query"}] * 3
    # every request still gets the cached document's validation errors
    assert all(r.errors and "Cannot query field" in r.errors[0].message for r in too_deep)
    assert calls == ["parse", "validate", "parse", "validate"]
