"""Recorded HubSpot payloads from tests/fixtures/hubspot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "hubspot"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())
