"""A syncing process does not import the metrics engine (a tenth of a second of start-up).

The writer imports ``core.metrics.stretch_refresh`` and with it the ``core.metrics``
package, whose public names are imported on first use (``from core.metrics import
MetricsExecutor`` everywhere else in the tests): the executor, the KPI definitions and the
SQL compiler stay out of a process that only syncs. Nor does it import prometheus_client:
the CRM calls it makes are counted by the processes that export metrics (core.prometheus).
"""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import sys
import core.sync.runner, core.sync.upsert, connectors.hubspot
import core.metrics
print(sorted(m for m in sys.modules if m.startswith("core.metrics")))
print("prometheus_client" in sys.modules)
"""


def test_a_syncing_process_imports_the_metrics_engine_only_when_it_is_used() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    imported, prometheus = done.stdout.strip().splitlines()
    assert prometheus == "False"
    assert "core.metrics.stretch_refresh" in imported
    for engine in ("core.metrics.executor", "core.metrics.definitions", "core.metrics.compiler"):
        assert engine not in imported
