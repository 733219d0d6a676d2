"""Fixture payloads of tests/fixtures/pipedrive, recorded from Pipedrive's documented shapes."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.pipedrive.custom_fields import FieldCatalog
from tests.contracts.pipedrive.check import ContractRecorder

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipedrive"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def deal_catalog() -> FieldCatalog:
    return FieldCatalog.from_metadata(
        load("deal_fields")["data"] + load("deal_fields_page2")["data"]
    )


@pytest.fixture
def checked() -> Iterator[Callable[[Any], Any]]:
    """Wraps a simulator app so that every request to it and every answer it gives are
    checked against Pipedrive's documented contract (tests/contracts/pipedrive); the test
    fails at teardown on any violation."""
    recorders: list[ContractRecorder] = []

    def wrap(app: Any) -> Any:
        recorder = ContractRecorder(app)
        recorders.append(recorder)
        return recorder

    yield wrap
    violations = [v for r in recorders for v in r.violations]
    assert violations == [], violations[:10]
    assert sum(r.checked for r in recorders) > 0
