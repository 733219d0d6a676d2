from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "salesforce"


def load_fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture
def fixture() -> Callable[[str], Any]:
    """Load ``tests/fixtures/salesforce/<name>``."""
    return load_fixture
