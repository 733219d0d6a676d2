"""Fixtures every sync test directory shares, loaded for the whole suite by tests/conftest.py.

A directory supplies what is its own (``pm`` with its plugin, ``simulator``,
``serve_simulator``, ``make_connection``) and overrides ``vault_key`` or ``sync_retry``
where it needs to; the vault, the servers' exit stack, the syncer and the :class:`SyncBench`
bundle are defined once here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pluggy
import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.secrets import Vault
from core.sync.http import RetryPolicy
from tests.support.syncing import FAST_RETRY, ConnectionFactory, SyncBench, Syncer, syncer


@pytest.fixture
def vault_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def vault(vault_key: str) -> Vault:
    return Vault([vault_key])


@pytest.fixture
def servers() -> Iterator[ExitStack]:
    """Simulators served on real sockets during the test, stopped after it."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def sync_retry() -> RetryPolicy:
    return FAST_RETRY


@pytest.fixture
def sync(
    engine: AsyncEngine, pm: pluggy.PluginManager, vault: Vault, sync_retry: RetryPolicy
) -> Syncer:
    return syncer(engine, pm, vault, retry=sync_retry)


@pytest.fixture
def crm(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    serve_simulator: Callable[..., str],
    make_connection: ConnectionFactory,
    sync: Syncer,
) -> SyncBench:
    return SyncBench(engine, sessionmaker, serve_simulator, make_connection, sync)
