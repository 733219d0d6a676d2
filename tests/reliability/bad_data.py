"""A malformed-data mode for the test CRM simulator: some records are served broken.

Each broken record replaces a generated one (``Simulator.overrides``), so the rest of the
dataset is served unchanged and the expected clean rows are known.
"""

from __future__ import annotations

from typing import Any

from tests.plugins.testcrm.dataset import generate
from tests.plugins.testcrm.simulator import Simulator


def _deal(i: int, **changes: Any) -> dict[str, Any]:
    return {**generate("deals", i), **changes}


def _without(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != key}


#: remote id served broken -> (what is broken, the record served instead).
MALFORMED: dict[str, tuple[str, dict[str, Any]]] = {
    "d1": ("missing id", _without(generate("deals", 1), "id")),
    "d2": ("wrong type", _deal(2, amount={"value": 12})),
    "d3": ("wrong type", _deal(3, amount="twelve")),
    "d4": ("broken date", _deal(4, created_at="2024-13-45T99:00:00Z")),
    "d6": ("broken date", _deal(6, closed_at="yesterday")),
    "d7": ("unknown stage", _deal(7, stage_id="no-such-stage")),
    "d8": ("huge string", _deal(8, title="x" * 2_000_000)),
    "d9": ("bad unicode", _deal(9, title="bad \ud800 surrogate")),
    "d11": ("NUL character", _deal(11, title="nul \x00 inside")),
    "d12": ("missing field", _without(generate("deals", 12), "stage_id")),
    "c3": ("wrong type", {**generate("contacts", 3), "created_at": 12345}),
}


def serve_malformed(simulator: Simulator) -> dict[str, str]:
    """Switch the simulator to malformed mode; returns remote id -> what is broken."""
    for remote_id, (_, record) in MALFORMED.items():
        simulator.overrides[remote_id] = record
    return {remote_id: what for remote_id, (what, _) in MALFORMED.items()}
