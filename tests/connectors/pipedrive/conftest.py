"""Fixture payloads of tests/fixtures/pipedrive, recorded from Pipedrive's documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connectors.pipedrive.custom_fields import FieldCatalog

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "pipedrive"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def deal_catalog() -> FieldCatalog:
    return FieldCatalog.from_metadata(
        load("deal_fields")["data"] + load("deal_fields_page2")["data"]
    )
