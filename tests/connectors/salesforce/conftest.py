"""Fixtures: recorded payloads, and the simulated org served on a real socket for the engine."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pluggy
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import connectors.salesforce as salesforce_plugin
from connectors.salesforce import settings
from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator
from core.models import Connection
from core.plugins import create_plugin_manager
from core.secrets import Vault
from tests.support.server import serve
from tests.support.syncing import connection_factory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "salesforce"
Connect = Callable[..., Awaitable[Connection]]


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def fixture() -> Callable[[str], Any]:
    """Load ``tests/fixtures/salesforce/<name>``."""
    return load_fixture


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_plugin_manager(load_entrypoints=False, plugins=[salesforce_plugin])


@pytest.fixture
def connect(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    servers: ExitStack,
) -> Connect:
    """Serve ``sim`` on a real socket and add a connection to it (login URL = the server);
    ``options`` are the connection's options (``{"bulk_threshold": "10"}``); keyword
    arguments are extra credentials (the legacy place of options). Its every exchange is
    checked against the Salesforce API contract (tests/contracts/traffic.py)."""

    async def make(
        sim: SalesforceSimulator, *, options: dict[str, str] | None = None, **credentials: str
    ) -> Connection:
        url = servers.enter_context(serve(sim.app))
        factory = connection_factory(
            sessionmaker, vault, connector="salesforce", credentials={**CREDENTIALS, **credentials}
        )
        connection = await factory(url)
        if options:
            async with sessionmaker() as session:
                stored = await session.get(Connection, connection.id)
                assert stored is not None
                stored.options = dict(options)
                await session.commit()
        return connection

    return make


@pytest.fixture
def instant_bulk_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bulk jobs of the simulator complete on their second poll: do not wait between polls."""
    monkeypatch.setattr(settings, "BULK_POLL_SECONDS", 0.0)
