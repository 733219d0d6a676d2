"""Management mutations through HTTP: roles, workspace limits, validation, key lifecycle."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Target
from tests.support.api import api_client
from tests.support.records import Tenant, create_tenant

CREATE_WS = """mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) {
  __typename ... on CreateWorkspaceSuccess { workspace { id name timezone currency } }
  ... on MutationError { message code } } }"""
UPDATE_WS = """mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) {
  __typename ... on UpdateWorkspaceSuccess { workspace { id timezone weekStart currency } }
  ... on MutationError { message code } } }"""
CREATE_KEY = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  __typename ... on CreateApiKeySuccess { key apiKey { id role prefix workspaceIds } }
  ... on MutationError { message code } } }"""
REVOKE_KEY = """mutation($id: ID!) { revokeApiKey(input: {id: $id}) {
  __typename ... on RevokeApiKeySuccess { apiKey { id revokedAt } }
  ... on MutationError { message code } } }"""
SET_TARGET = """mutation($input: SetTargetInput!) { setTarget(input: $input) {
  __typename ... on SetTargetSuccess { target { id kpi value segment periodStart } }
  ... on MutationError { message code } } }"""


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", deals=2)


async def test_admin_creates_and_updates_a_workspace(engine: AsyncEngine, tenant: Tenant) -> None:
    async with api_client(engine) as client:
        created = await client.graphql(
            CREATE_WS,
            {"input": {"name": "Client C", "timezone": "Asia/Tokyo", "currency": "JPY"}},
            key=tenant.keys["admin"],
        )
        ws = created["data"]["createWorkspace"]["workspace"]
        updated = await client.graphql(
            UPDATE_WS,
            {"input": {"id": ws["id"], "weekStart": 7, "timezone": "Europe/Madrid"}},
            key=tenant.keys["admin"],
        )
        listed = await client.graphql("{ workspaces { id } }", key=tenant.keys["viewer"])
    assert ws["timezone"] == "Asia/Tokyo" and ws["currency"] == "JPY"
    assert updated["data"]["updateWorkspace"]["workspace"] == {
        "id": ws["id"], "timezone": "Europe/Madrid", "weekStart": 7, "currency": "JPY",
    }  # fmt: skip
    assert ws["id"] in {w["id"] for w in listed["data"]["workspaces"]}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({"currency": "euro"}, "invalid currency 'euro'"),
        ({"fiscalYearStartMonth": 13}, "fiscal-year start month must be 1..12"),
        ({"weekStart": 0}, "week start must be an ISO weekday"),
        ({"inactivityDays": 0}, "inactivity days must be between 1 and 3650"),
        ({"name": "   "}, "workspace name must be 1..200 characters"),
    ],
)
async def test_workspace_settings_are_validated(
    engine: AsyncEngine, tenant: Tenant, changes: dict[str, Any], message: str
) -> None:
    async with api_client(engine) as client:
        body = await client.graphql(
            UPDATE_WS,
            {"input": {"id": tenant.workspace_ids[0], **changes}},
            key=tenant.keys["admin"],
        )
        after = await client.graphql(
            "query($id: ID!) { workspace(id: $id) { timezone currency } }",
            {"id": tenant.workspace_ids[0]},
            key=tenant.keys["admin"],
        )
    result = body["data"]["updateWorkspace"]
    assert result["code"] == "INVALID" and message in result["message"]
    assert after["data"]["workspace"] == {"timezone": "UTC", "currency": "EUR"}


async def test_roles_gate_mutations(engine: AsyncEngine, tenant: Tenant) -> None:
    target = {
        "workspaceId": tenant.workspace_ids[0], "kpi": "dealsWon", "periodStart": "2026-01-01",
        "periodEnd": "2026-02-01", "value": "20",
    }  # fmt: skip
    async with api_client(engine) as client:
        viewer_ws = await client.graphql(
            CREATE_WS, {"input": {"name": "X"}}, key=tenant.keys["viewer"]
        )
        editor_ws = await client.graphql(
            CREATE_WS, {"input": {"name": "X"}}, key=tenant.keys["editor"]
        )
        viewer_target = await client.graphql(
            SET_TARGET, {"input": target}, key=tenant.keys["viewer"]
        )
        editor_target = await client.graphql(
            SET_TARGET, {"input": target}, key=tenant.keys["editor"]
        )
        listed = await client.graphql("{ workspaces { name } }", key=tenant.keys["admin"])
    for refused in (viewer_ws, editor_ws):
        assert refused["data"] is None
        assert "admin needed" in refused["errors"][0]["message"]
    assert "editor or admin needed" in viewer_target["errors"][0]["message"]
    assert editor_target["data"]["setTarget"]["target"]["kpi"] == "dealsWon"
    assert "X" not in {w["name"] for w in listed["data"]["workspaces"]}


async def test_set_target_replaces_the_same_target(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    base = {
        "workspaceId": tenant.workspace_ids[0], "kpi": "salesRevenue",
        "periodStart": "2026-01-01", "periodEnd": "2026-04-01",
        "segment": {"sources": ["web", "ads"]},
    }  # fmt: skip
    async with api_client(engine) as client:
        first = await client.graphql(
            SET_TARGET, {"input": {**base, "value": "100000"}}, key=tenant.keys["editor"]
        )
        reordered = {**base, "segment": {"sources": ["ads", "web"]}, "value": "120000"}
        second = await client.graphql(SET_TARGET, {"input": reordered}, key=tenant.keys["editor"])
        backwards = await client.graphql(
            SET_TARGET,
            {"input": {**base, "periodEnd": "2025-12-01", "value": "1"}},
            key=tenant.keys["editor"],
        )
        foreign = await client.graphql(
            SET_TARGET,
            {"input": {**base, "workspaceId": "ws_other", "value": "1"}},
            key=tenant.keys["editor"],
        )
        listed = await client.graphql(
            '{ targets(kpi: "salesRevenue") { value } }', key=tenant.keys["viewer"]
        )
    one, two = first["data"]["setTarget"]["target"], second["data"]["setTarget"]["target"]
    assert one["id"] == two["id"] and float(two["value"]) == 120000
    assert two["segment"] == {"SOURCE": ["ads", "web"]}  # canonical: dimension names
    assert backwards["data"]["setTarget"]["code"] == "INVALID"
    assert foreign["data"]["setTarget"] == {
        "__typename": "SetTargetError", "message": "workspace 'ws_other' not found",
        "code": "NOT_FOUND",
    }  # fmt: skip
    assert [float(t["value"]) for t in listed["data"]["targets"]] == [120000]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Target)) == 1


async def test_key_lifecycle_and_workspace_limited_admins(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    ws0, ws1 = tenant.workspace_ids
    async with api_client(engine) as client:
        made = await client.graphql(
            CREATE_KEY, {"input": {"role": "admin", "workspaceIds": [ws0], "name": "client0"}},
            key=tenant.keys["admin"],
        )  # fmt: skip
        limited = made["data"]["createApiKey"]
        seen = await client.graphql("{ viewer { role workspaceIds } }", key=limited["key"])
        escalate = await client.graphql(
            CREATE_KEY, {"input": {"role": "admin"}}, key=limited["key"]
        )
        other_ws = await client.graphql(
            CREATE_KEY, {"input": {"workspaceIds": [ws1]}}, key=limited["key"]
        )
        new_ws = await client.graphql(CREATE_WS, {"input": {"name": "N"}}, key=limited["key"])
        keys_seen = await client.graphql("{ apiKeys { id workspaceIds } }", key=limited["key"])
        all_keys = await client.graphql("{ apiKeys { id prefix } }", key=tenant.keys["admin"])
        bad_role = await client.graphql(
            CREATE_KEY, {"input": {"role": "root"}}, key=tenant.keys["admin"]
        )
        revoked = await client.graphql(
            REVOKE_KEY, {"id": limited["apiKey"]["id"]}, key=tenant.keys["admin"]
        )
        after_revoke = await client.http.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"Authorization": f"Bearer {limited['key']}"},
        )
        assert after_revoke.status_code == 401  # a revoked key is refused whole
        after = after_revoke.json()
    assert limited["key"].startswith(limited["apiKey"]["prefix"])
    assert seen["data"]["viewer"] == {"role": "admin", "workspaceIds": [ws0]}
    assert escalate["data"]["createApiKey"]["code"] == "FORBIDDEN"
    assert other_ws["data"]["createApiKey"]["code"] == "NOT_FOUND"
    assert new_ws["data"]["createWorkspace"]["code"] == "FORBIDDEN"
    seen_keys = keys_seen["data"]["apiKeys"]  # its own and the fixture's ws0 key
    assert len(seen_keys) == 2 and limited["apiKey"]["id"] in {k["id"] for k in seen_keys}
    assert all(k["workspaceIds"] == [ws0] for k in seen_keys)
    assert len(all_keys["data"]["apiKeys"]) == 5
    assert all(limited["key"] != k["prefix"] for k in all_keys["data"]["apiKeys"])
    assert "role must be one of" in bad_role["data"]["createApiKey"]["message"]
    assert revoked["data"]["revokeApiKey"]["apiKey"]["revokedAt"]
    assert "missing or invalid API key" in after["errors"][0]["message"]


async def test_foreign_organization_keys_cannot_be_revoked(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    async with sessionmaker() as session:
        other = await create_tenant(session, "globex", workspaces=1, deals=1)
    async with api_client(engine) as client:
        keys = await client.graphql("{ apiKeys { id } }", key=other.keys["admin"])
        victim = keys["data"]["apiKeys"][0]["id"]
        attempt = await client.graphql(REVOKE_KEY, {"id": victim}, key=tenant.keys["admin"])
        still = await client.graphql("{ viewer { role } }", key=other.keys["admin"])
        renamed = await client.graphql(
            'mutation { updateOrganization(input: {name: "Acme Ltd"}) { '
            "... on UpdateOrganizationSuccess { organization { name } } } }",
            key=tenant.keys["admin"],
        )
        org = await client.graphql("{ organization { name } }", key=other.keys["viewer"])
    assert attempt["data"]["revokeApiKey"]["code"] == "NOT_FOUND"
    assert still["data"]["viewer"]["role"] == "admin"
    assert renamed["data"]["updateOrganization"]["organization"]["name"] == "Acme Ltd"
    assert org["data"]["organization"]["name"] == "globex org"
