"""Fixtures for engine tests: the test CRM simulator on a real socket, a connection to it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

import pluggy
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import tests.plugins.testcrm as testcrm_plugin
from core.plugins import create_plugin_manager
from core.secrets import Vault
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.server import serve
from tests.support.syncing import (
    ConnectionFactory,
    connection_factory,
)


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_plugin_manager(load_entrypoints=False, plugins=[testcrm_plugin])


@pytest.fixture
def simulator() -> Simulator:
    return Simulator(Dataset.sized(200))


@pytest.fixture
def serve_simulator(simulator: Simulator, servers: ExitStack) -> Callable[[str | None], str]:
    """Start the simulator (with optional faults) on a real socket; returns its base URL."""

    def start(faults: str | None = None) -> str:
        return servers.enter_context(serve(simulator.app(faults)))

    return start


@pytest.fixture
def make_connection(
    sessionmaker: async_sessionmaker[AsyncSession], vault: Vault
) -> ConnectionFactory:
    return connection_factory(
        sessionmaker, vault, connector="testcrm", credentials={"refresh_token": REFRESH_TOKEN}
    )
