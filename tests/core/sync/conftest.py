"""Fixtures for engine tests: the test CRM simulator on a real socket, a connection to it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pluggy
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import tests.plugins.testcrm as testcrm_plugin
from core.models import Connection, Organization, Workspace
from core.models.enums import SyncMode
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.sync.http import RetryPolicy
from core.sync.ratelimit import RateLimiters
from core.sync.runner import SyncOptions, SyncResult, run_sync
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.server import serve

#: Retries fast enough for tests, still exponential with jitter.
FAST_RETRY = RetryPolicy(attempts=10, base=0.01, cap=0.05)


@pytest.fixture
def vault_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def vault(vault_key: str) -> Vault:
    return Vault([vault_key])


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_plugin_manager(load_entrypoints=False, plugins=[testcrm_plugin])


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(Dataset.sized(200))


@pytest.fixture
def servers() -> Iterator[ExitStack]:
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def serve_simulator(simulator: Simulator, servers: ExitStack) -> Callable[[str | None], str]:
    """Start the simulator (with optional faults) on a real socket; returns its base URL."""

    def start(faults: str | None = None) -> str:
        return servers.enter_context(serve(simulator.app(faults)))

    return start


ConnectionFactory = Callable[..., Awaitable[Connection]]


@pytest.fixture
def make_connection(
    sessionmaker: async_sessionmaker[AsyncSession], vault: Vault
) -> ConnectionFactory:
    async def make(base_url: str, *, mappings: dict[str, Any] | None = None) -> Connection:
        async with sessionmaker() as session:
            org = Organization(name="Acme")
            session.add(org)
            await session.flush()
            workspace = Workspace(organization_id=org.id, name="Main")
            session.add(workspace)
            await session.flush()
            connection = Connection(
                workspace_id=workspace.id,
                connector="testcrm",
                base_url=base_url,
                credentials_encrypted=vault.encrypt({"refresh_token": REFRESH_TOKEN}),
                mappings=mappings,
            )
            session.add(connection)
            await session.commit()
            return connection

    return make


Syncer = Callable[..., Awaitable[SyncResult]]


@pytest.fixture
def sync(engine: AsyncEngine, pm: pluggy.PluginManager, vault: Vault) -> Syncer:
    limiters = RateLimiters()

    async def run(connection_id: str, *, full: bool = False, **options: Any) -> SyncResult:
        options.setdefault("retry", FAST_RETRY)
        options.setdefault("limiters", limiters)
        mode = SyncMode.FULL if full else SyncMode.INCREMENTAL
        return await run_sync(
            connection_id,
            engine=engine,
            pm=pm,
            vault=vault,
            options=SyncOptions(mode=mode, **options),
        )

    return run
