"""End-to-end fixtures: the HubSpot simulator on a real socket, a connection, the engine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pluggy
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import connectors.hubspot as hubspot_plugin
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.simulator import (
    ACCESS_TOKEN,
    HubSpotSimulator,
    create_app,
    create_simulator,
)
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.simulation.dataset import generate
from core.sync.connector import RateLimitPolicy
from core.sync.http import RetryPolicy
from tests.contracts.traffic import Window
from tests.support.server import serve
from tests.support.syncing import (
    CRM_RETRY,
    ConnectionFactory,
    connection_factory,
)

#: Well in the past, so that every generated change is older than the run's "now".
ANCHOR = (datetime.now(UTC) - timedelta(days=60)).replace(microsecond=0)


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_plugin_manager(load_entrypoints=False, plugins=[hubspot_plugin])


@pytest.fixture
def fast_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real allowance (100 requests / 10 s) would make the tests wait for minutes."""
    monkeypatch.setattr(
        HubSpotConnector,
        "rate_limit",
        RateLimitPolicy(10_000, 1.0, remaining_header="X-HubSpot-RateLimit-Remaining"),
    )


def make_simulator(deals: int = 150, **options: Any) -> HubSpotSimulator:
    return create_simulator(data=generate(seed=3, deals=deals, anchor=ANCHOR), **options)


@pytest.fixture
def simulator() -> HubSpotSimulator:
    return make_simulator()


@pytest.fixture
def contract(contract_traffic: Window) -> Iterator[list[str]]:
    """The simulators served by the test (every exchange is checked against HubSpot's
    documented contract for the whole suite, tests/contracts/traffic.py): when the test
    served one, it must have exchanged something with it."""
    served: list[str] = []
    yield served
    assert not served or contract_traffic.exchanges("hubspot")


@pytest.fixture
def serve_simulator(
    simulator: HubSpotSimulator, servers: ExitStack, contract: list[str]
) -> Callable[..., str]:
    def start(faults: str | None = None, sim: HubSpotSimulator | None = None) -> str:
        url = servers.enter_context(serve(create_app(simulator=sim or simulator, faults=faults)))
        contract.append(url)
        return url

    return start


@pytest.fixture
def make_connection(
    sessionmaker: async_sessionmaker[AsyncSession], vault: Vault
) -> ConnectionFactory:
    return connection_factory(
        sessionmaker, vault, connector="hubspot", credentials={"access_token": ACCESS_TOKEN}
    )


@pytest.fixture
def sync_retry() -> RetryPolicy:
    return CRM_RETRY
