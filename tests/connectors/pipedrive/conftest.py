"""Fixture payloads of tests/fixtures/pipedrive, recorded from Pipedrive's documented shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.pipedrive.custom_fields import FieldCatalog
from tests.contracts.traffic import Window

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
