"""Reliability fixtures: the engine-test fixtures (simulator on a socket, connections, sync).

Tests marked ``slow`` are the soak versions: ``make soak`` (``CRMKPI_SOAK=1``) runs them;
``make test`` deselects them so that the short suite stays short.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.core.sync.conftest import (  # noqa: F401  (fixtures re-exported for this package)
    make_connection,
    pm,
    serve_simulator,
    simulator,
)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CRMKPI_SOAK"):
        return
    slow = [i for i in items if HERE in i.path.parents and i.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [i for i in items if i not in slow]
