"""Fixture payloads of tests/fixtures/pipedrive, recorded from Pipedrive's documented shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pluggy
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import connectors.pipedrive as pipedrive_plugin
from connectors.pipedrive import settings
from connectors.pipedrive.custom_fields import FieldCatalog
from connectors.pipedrive.simulator import API_TOKEN, PipedriveSimulator
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.sync.http import RetryPolicy
from tests.contracts.traffic import Window
from tests.support.server import serve
from tests.support.syncing import CRM_RETRY, ConnectionFactory, connection_factory

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipedrive"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def deal_catalog() -> FieldCatalog:
    return FieldCatalog.from_metadata(
        load("deal_fields")["data"] + load("deal_fields_page2")["data"]
    )


@pytest.fixture
def checked(contract_traffic: Window) -> Iterator[Callable[[Any], Any]]:
    """Marks the simulator apps a test serves: every exchange of every simulator is checked
    against Pipedrive's documented contract for the whole suite (tests/contracts/traffic.py);
    this fixture also asserts the test exchanged something with one, so that check was not
    vacuous."""
    yield lambda app: app
    assert contract_traffic.exchanges("pipedrive")


# The end-to-end modules' shared setup (test_e2e*.py): each defines its own ``dataset``
# and ``simulator`` (seed, size, account variant) and uses ``small_pages``.


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 40: every stream of a 100-deal business spans several pages."""
    monkeypatch.setattr(settings, "PAGE_SIZE", 40)


@pytest.fixture
def pm() -> pluggy.PluginManager:
    return create_plugin_manager(load_entrypoints=False, plugins=[pipedrive_plugin])


@pytest.fixture
def serve_simulator(
    simulator: PipedriveSimulator, servers: ExitStack, checked: Callable[[Any], Any]
) -> Callable[..., str]:
    """Serve the test's simulator (with optional faults) on a real socket; its base URL."""

    def start(faults: str | None = None) -> str:
        return servers.enter_context(serve(checked(simulator.asgi(faults))))

    return start


@pytest.fixture
def make_connection(
    sessionmaker: async_sessionmaker[AsyncSession], vault: Vault
) -> ConnectionFactory:
    """A connection to the simulator, in a fresh tenant, with its API token."""
    return connection_factory(
        sessionmaker, vault, connector="pipedrive", credentials={"api_token": API_TOKEN}
    )


@pytest.fixture
def sync_retry() -> RetryPolicy:
    return CRM_RETRY
