"""Tenant isolation, property-based: random valid queries and mutations never cross tenants.

Two organizations hold records whose every string carries a canary of its tenant and
workspace. Hypothesis draws queries over every root field, with arguments drawn from both
tenants' ids (records, workspaces, connections, keys) and from junk, and sends them through
HTTP with every key of one tenant. No response may show the other tenant's canaries, and a
key limited to one workspace may not show the other workspace's. Mutations aimed at the
other tenant's ids must answer "not found" and leave its data exactly as it was.

Hypothesis drives a synchronous test, so the test runs its own event loop on an engine of
its own (the async ``engine`` fixture belongs to pytest-asyncio's loop).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine, create_sessionmaker
from core.models import ApiKey, Connection, Deal, Target, Workspace
from tests.conftest import _truncate
from tests.support.api import ApiClient, api_client
from tests.support.records import Tenant, create_tenant

LIST = """query($ws: [ID!], $seg: RecordSegmentInput, $first: Int!) {{
  {field}(workspaceIds: $ws, segment: $seg, first: $first) {{
    totalCount edges {{ node {{ id workspaceId {extra} }} }} }} }}"""
LISTS = {
    "deals": "name owner { name } stage { name } account { name } contact { name } "
    "pipeline { name }",
    "contacts": "name owner { name } account { name }",
    "leads": "name owner { name } account { name }",
    "accounts": "name owner { name }",
    "activities": "subject owner { name } contact { name } account { name }",
}
SINGLE = "query($id: ID!) {{ {field}(id: $id) {{ id {extra} }} }}"
STATUS = """query($id: ID!) { connection(id: $id) { name streamCounts { stream records }
  lastRuns { status } quarantined { totalCount } dataQuality { dealsWithoutAmount } } }"""
OTHER = [
    "{ viewer { organizationId workspaceIds } organization { name } }",
    "{ workspaces { id name } connections { id name } targets { kpi } }",
    "query($id: ID!) { workspace(id: $id) { name } }",
    "query($ws: [ID!]) { connections(workspaceIds: $ws) { name } }",
    "{ apiKeys { id name prefix } }",
]
ATTACKS = [
    ("pauseConnection", "PauseConnectionInput", "connection"),
    ("deleteConnection", "DeleteConnectionInput", "connection"),
    ("updateConnectionMappings", "UpdateConnectionMappingsInput", "connection"),
    ("updateWorkspace", "UpdateWorkspaceInput", "workspace"),
    ("deleteWorkspace", "DeleteWorkspaceInput", "workspace"),
    ("revokeApiKey", "RevokeApiKeyInput", "key"),
    ("setTarget", "SetTargetInput", "workspace"),
    ("triggerSync", "TriggerSyncInput", "connection"),
    ("verifyCredentials", "VerifyCredentialsInput", "connection"),
    ("setConnectionSchedule", "SetConnectionScheduleInput", "connection"),
    ("setSyncWebhook", "SetSyncWebhookInput", "workspace"),
    ("importFx", "ImportFxInput", "workspace"),  # bumps the workspace's data version
]


@pytest.fixture
def world(database_url: str) -> Iterator[tuple[asyncio.AbstractEventLoop, dict[str, Any]]]:
    loop = asyncio.new_event_loop()
    engine = create_engine(database_url)

    async def setup() -> dict[str, Any]:
        async with create_sessionmaker(engine)() as session:
            acme = await create_tenant(session, "acme", deals=6)
            globex = await create_tenant(session, "globex", deals=6)
            ids: dict[str, dict[str, list[str]]] = {}
            for tenant in (acme, globex):
                deal_ids = await session.scalars(
                    select(Deal.id).where(Deal.workspace_id.in_(tenant.workspace_ids))
                )
                key_ids = await session.scalars(
                    select(ApiKey.id).where(ApiKey.organization_id == tenant.org_id)
                )
                ids[tenant.name] = {
                    "record": [str(i) for i in deal_ids],
                    "workspace": tenant.workspace_ids,
                    "connection": tenant.connection_ids,
                    "key": list(key_ids),
                }
        return {"engine": engine, "tenants": {"acme": acme, "globex": globex}, "ids": ids}

    try:
        yield loop, loop.run_until_complete(setup())
    finally:
        loop.run_until_complete(_truncate(engine))
        loop.run_until_complete(engine.dispose())
        loop.close()


def _forbidden(tenant: Tenant, other: Tenant, role: str) -> list[str]:
    """Strings the key must never see: the other tenant's, and for ``ws0`` workspace 1's."""
    strings = [other.canary, f"{other.name} org"]
    if role == "ws0":
        strings += [f"{tenant.canary}-w1", f"{tenant.canary} ws1", f"{tenant.canary} crm1"]
    return strings


def _queries(ids: dict[str, dict[str, list[str]]]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    every = {kind: ids["acme"][kind] + ids["globex"][kind] for kind in ids["acme"]}
    any_id = st.one_of(
        *(st.sampled_from(v) for v in every.values()),
        st.text(max_size=12),
        st.integers(-(2**70), 2**70).map(str),
    )
    record_ids = st.lists(st.sampled_from(every["record"]) | any_id, max_size=3)
    segment = st.fixed_dictionaries(
        {},
        optional={
            "owners": record_ids,
            "connections": st.lists(st.sampled_from(every["connection"]), max_size=3),
            "sources": st.lists(st.sampled_from(["web", "referral", "x' OR '1'='1"]), max_size=2),
            "countries": st.lists(st.sampled_from(["ES", "FR", "%"]), max_size=2),
        },
    )
    workspaces = st.none() | st.lists(st.sampled_from(every["workspace"]), max_size=3)
    lists = st.builds(
        lambda field, ws, seg, first: (
            LIST.format(field=field, extra=LISTS[field]),
            {"ws": ws, "seg": seg, "first": first},
        ),
        st.sampled_from(sorted(LISTS)),
        workspaces,
        segment,
        st.integers(1, 50),
    )
    singles = st.builds(
        lambda field, id_: (SINGLE.format(field=field, extra=LISTS[field + "s"]), {"id": id_}),
        st.sampled_from(["deal", "contact", "lead", "account"]),
        any_id,
    )
    status = st.builds(lambda id_: (STATUS, {"id": id_}), any_id)
    other = st.builds(
        lambda q, id_, ws: (q, {"id": id_, "ws": ws}), st.sampled_from(OTHER), any_id, workspaces
    )
    return st.one_of(lists, singles, status, other)


async def _snapshot(engine: AsyncEngine, tenant: Tenant) -> tuple[Any, ...]:
    async with create_sessionmaker(engine)() as session:
        deals = await session.scalar(
            select(func.count())
            .select_from(Deal)
            .where(Deal.workspace_id.in_(tenant.workspace_ids))
        )
        conns = (
            await session.execute(
                select(Connection.id, Connection.status, Connection.mappings, Connection.schedule)
                .where(Connection.workspace_id.in_(tenant.workspace_ids))
                .order_by(Connection.id)
            )
        ).all()
        workspaces = (
            await session.execute(
                select(Workspace.id, Workspace.timezone, Workspace.data_version)
                .where(Workspace.organization_id == tenant.org_id)
                .order_by(Workspace.id)
            )
        ).all()
        keys = (
            await session.execute(
                select(ApiKey.id, ApiKey.revoked_at).where(ApiKey.organization_id == tenant.org_id)
            )
        ).all()
        targets = await session.scalar(
            select(func.count())
            .select_from(Target)
            .where(Target.workspace_id.in_(tenant.workspace_ids))
        )
    return deals, conns, workspaces, sorted(keys), targets


def _attack(name: str, input_type: str, kind: str, target_id: str) -> tuple[str, dict[str, Any]]:
    payload: dict[str, Any] = {"id": target_id}
    if name == "updateConnectionMappings":
        payload["changes"] = {"stage_kinds": {}}
    if name == "updateWorkspace":
        payload["timezone"] = "Asia/Tokyo"
    if name == "setTarget":
        payload = {"workspaceId": target_id, "kpi": "dealsWon", "periodStart": "2026-01-01",
                   "periodEnd": "2026-02-01", "value": "1"}  # fmt: skip
    if name in ("triggerSync", "verifyCredentials"):
        payload = {"connectionId": target_id}
    if name == "setConnectionSchedule":
        payload["every"] = "15m"
    if name == "setSyncWebhook":
        payload = {"workspaceId": target_id, "url": "https://93.184.216.34/hook"}
    if name == "importFx":
        payload = {"workspaceId": target_id, "csv": "2026-01-01,EUR,1.1\n", "base": "USD"}
    query = (
        f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename "
        "... on MutationError { code message } } }"
    )
    return query, {"input": payload}


def test_no_query_crosses_tenants(world: tuple[asyncio.AbstractEventLoop, dict[str, Any]]) -> None:
    loop, data = world
    engine: AsyncEngine = data["engine"]
    tenants: dict[str, Tenant] = data["tenants"]
    ids = data["ids"]
    client_cm = api_client(engine, rate_limit_per_minute=0)
    client: ApiClient = loop.run_until_complete(client_cm.__aenter__())
    checked = {"requests": 0, "own": 0}

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        who=st.sampled_from(
            [(t, r) for t in ("acme", "globex") for r in ("viewer", "ws0", "admin")]
        ),
        query=_queries(ids),
    )
    def run(who: tuple[str, str], query: tuple[str, dict[str, Any]]) -> None:
        name, role = who
        tenant = tenants[name]
        other = tenants["globex" if name == "acme" else "acme"]
        text, variables = query
        response = loop.run_until_complete(
            client.http.post(
                "/graphql",
                json={"query": text, "variables": variables},
                headers={"Authorization": f"Bearer {tenant.keys[role]}"},
            )
        )
        checked["requests"] += 1
        assert response.status_code == 200, response.text
        body = response.text
        for canary in _forbidden(tenant, other, role):
            assert canary not in body, (role, text, variables, body[:500])
        assert "Traceback" not in body and "SELECT" not in body
        checked["own"] += tenant.canary in body
        parsed = json.loads(body)
        assert parsed.get("data") is not None or parsed.get("errors")
        messages = [e.get("message") for e in parsed.get("errors") or []]
        assert "Unexpected error." not in messages, (text, variables, body[:500])

    try:
        run()
        # Every management mutation aimed at the other tenant's ids: not found, no change.
        for attacker, victim in (("acme", "globex"), ("globex", "acme")):
            before = loop.run_until_complete(_snapshot(engine, tenants[victim]))
            for name, input_type, kind in ATTACKS:
                for target_id in ids[victim][kind]:
                    q, v = _attack(name, input_type, kind, target_id)
                    body = loop.run_until_complete(
                        client.graphql(q, v, key=tenants[attacker].keys["admin"])
                    )
                    assert body["data"][name]["code"] == "NOT_FOUND", (name, body)
            assert loop.run_until_complete(_snapshot(engine, tenants[victim])) == before
    finally:
        loop.run_until_complete(client_cm.__aexit__(None, None, None))
    assert checked["requests"] >= 100
    assert checked["own"] >= 10  # the queries did read data: the test is not vacuous
