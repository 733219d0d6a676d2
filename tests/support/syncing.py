"""What end-to-end sync tests share: a connection in a fresh tenant, and a sync runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pluggy
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Connection, Organization, Workspace
from core.models.enums import SyncMode
from core.secrets import Vault
from core.sync.http import RetryPolicy
from core.sync.ratelimit import RateLimiters
from core.sync.runner import SyncOptions, SyncResult, run_sync

#: Retries fast enough for tests, still exponential with jitter.
FAST_RETRY = RetryPolicy(attempts=10, base=0.01, cap=0.05)
#: As FAST_RETRY, with room for the CRM simulators' injected fault bursts.
CRM_RETRY = RetryPolicy(attempts=12, base=0.01, cap=0.05)
ConnectionFactory = Callable[..., Awaitable[Connection]]
Syncer = Callable[..., Awaitable[SyncResult]]


def connection_factory(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    *,
    connector: str,
    credentials: Mapping[str, str],
) -> ConnectionFactory:
    """Each call creates an organization, a workspace and a connection to ``base_url``."""

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
                connector=connector,
                base_url=base_url,
                credentials_encrypted=vault.encrypt(credentials),
                mappings=mappings,
            )
            session.add(connection)
            await session.commit()
            return connection

    return make


def syncer(
    engine: AsyncEngine,
    pm: pluggy.PluginManager,
    vault: Vault,
    *,
    retry: RetryPolicy = FAST_RETRY,
) -> Syncer:
    """Runs a sync with fast retries and limiters shared by the test's runs."""
    limiters = RateLimiters()

    async def run(connection_id: str, *, full: bool = False, **options: Any) -> SyncResult:
        options.setdefault("retry", retry)
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


@dataclass
class SyncBench:
    """One test's database, its CRM simulator on a socket, and the ways to connect and sync:
    what end-to-end sync tests otherwise each take as five fixtures."""

    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    serve: Callable[..., str]
    make_connection: ConnectionFactory
    sync: Syncer

    async def connect(self, faults: str | None = None, **options: Any) -> Connection:
        """A connection, in a fresh tenant, to the simulator served with ``faults``."""
        return await self.make_connection(self.serve(faults), **options)
