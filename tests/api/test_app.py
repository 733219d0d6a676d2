"""The HTTP surface: probes, authentication, tenant scoping, error masking, limits."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import api.app
from api.app import create_app
from api.observability import KNOWN_OPERATIONS
from api.session import WARM_CONNECTIONS
from core.organizations import create_organization, create_workspace
from core.plugins import create_plugin_manager
from core.settings import Settings
from core.tenancy import create_api_key
from tests.support.api import api_client


async def _tenant(session: AsyncSession, name: str) -> tuple[str, str, str]:
    org = await create_organization(session, name)
    ws = await create_workspace(
        session, organization_id=org.id, name=f"{name} WS", timezone="Europe/Madrid", currency="EUR"
    )
    _, key = await create_api_key(session, organization_id=org.id, role="viewer")
    await session.commit()
    return org.id, ws.id, key


async def test_health_and_readiness(engine: AsyncEngine) -> None:
    async with api_client(engine) as client:
        assert (await client.http.get("/healthz")).json() == {"status": "ok"}
        ready = await client.http.get("/readyz")
        assert ready.status_code == 200 and ready.json()["database"] == "up"
        assert ready.headers["x-request-id"]


async def test_graphql_requires_a_valid_key(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        await _tenant(session, "Acme")
    async with api_client(engine) as client:
        anonymous = await client.graphql("{ viewer { role } }")
        wrong = await client.http.post(
            "/graphql",
            json={"query": "{ viewer { role } }"},
            headers={"Authorization": "Bearer ck_not-a-real-key"},
        )
    assert anonymous["data"] is None
    assert "missing or invalid API key" in anonymous["errors"][0]["message"]
    assert wrong.status_code == 401  # a wrong key is refused whole (issue #20)
    assert wrong.json()["data"] is None
    assert "invalid API key" in wrong.json()["errors"][0]["message"]


async def test_each_key_sees_only_its_own_workspaces(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        org_a, ws_a, key_a = await _tenant(session, "Acme")
        _, ws_b, key_b = await _tenant(session, "Globex")
    query = (
        "query($id: ID!) { viewer { organizationId } workspaces { id } workspace(id: $id) { id } }"
    )
    async with api_client(engine) as client:
        own = await client.graphql(query, {"id": ws_a}, key=key_a)
        foreign = await client.graphql(query, {"id": ws_b}, key=key_a)
        other = await client.graphql(query, {"id": ws_b}, key=key_b)
    assert own["data"] == {
        "viewer": {"organizationId": org_a},
        "workspaces": [{"id": ws_a}],
        "workspace": {"id": ws_a},
    }
    assert foreign["data"]["workspace"] is None  # foreign id: exactly like a missing one
    assert other["data"]["workspaces"] == [{"id": ws_b}]


async def test_deep_and_aliased_queries_are_refused(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        _, _, key = await _tenant(session, "Acme")
    aliases = " ".join(f"a{i}: viewer {{ role }}" for i in range(40))
    async with api_client(engine, graphql_max_aliases=30) as client:
        body = await client.graphql(f"{{ {aliases} }}", key=key)
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_metrics_endpoint_counts_graphql_operations(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        _, _, key = await _tenant(session, "Acme")
    async with api_client(engine) as client:
        await client.graphql("query DashboardWorkspaces { viewer { role } }", key=key)
        for i in range(50):  # client-chosen names: one "other" series, not fifty
            await client.graphql(f"query Probe{i} {{ viewer {{ role }} }}", key=key)
        await client.http.post("/graphql", json={"query": "query Anon1 { __typename }"})
        text = (await client.http.get("/metrics")).text
    assert 'crmkpi_graphql_seconds_count{operation="DashboardWorkspaces"}' in text
    assert 'operation="other"' in text and "Probe" not in text and "Anon1" not in text
    # the process's registry also holds other tests' operations: bounded by the shipped names
    labels = set(re.findall(r'crmkpi_graphql_seconds_count\{operation="([^"]*)"', text))
    assert labels <= KNOWN_OPERATIONS | {"anonymous", "other"}
    assert "crmkpi_sync_runs_total" in text


async def test_a_served_app_freezes_its_start_up_heap(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``freeze_heap`` (every server): the lifespan freezes what start-up built once it is
    all built; the app's requests get a pool of their own on PostgreSQL (api.session)."""
    frozen: list[bool] = []
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, scheduler="off")
    plugins = create_plugin_manager(load_entrypoints=False)
    for freeze in (False, True):
        app = create_app(settings, engine=engine, plugins=plugins, freeze_heap=freeze)
        # (the real freeze is a full collection of the test process: seconds, and for good)
        monkeypatch.setattr(
            api.app, "freeze_startup_heap", lambda: frozen.append(hasattr(app.state, "crmkpi"))
        )
        assert frozen == []  # not at build time: tests build many apps
        async with app.router.lifespan_context(app):
            assert frozen == ([True] if freeze else [])  # after start-up, before serving
            requests = app.state.crmkpi.requests
            assert (requests.engine is engine) is (engine.dialect.name == "sqlite")


async def test_a_served_app_opens_its_first_requests_connections(engine: AsyncEngine) -> None:
    """``warm_pool`` (every server): the lifespan opens the connections a first dashboard
    takes (its session and readers) in the requests' pool, PostgreSQL only."""
    url = engine.url.render_as_string(hide_password=False)
    settings = Settings(database_url=url, scheduler="off")
    plugins = create_plugin_manager(load_entrypoints=False)
    for warm in (False, True):
        app = create_app(settings, engine=engine, plugins=plugins, warm_pool=warm)
        async with app.router.lifespan_context(app):
            pool = app.state.crmkpi.requests.engine.sync_engine.pool
            if engine.dialect.name != "postgresql":
                continue
            assert pool.checkedout() == 0
            assert pool.checkedin() == (WARM_CONNECTIONS if warm else 0)
