"""`crmkpi sync`'s start-up imports only what a sync uses (issue #21: a syncing process's
start-up CPU), through the console script's own entry (api.entry), in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

#: Run as the console script does (api.entry.main), then report what was imported.
_SCRIPT = """
import gc, json, sys
from api.entry import main
sys.argv = ["crmkpi", "sync", "conn_missing", "--json"]
try:
    main()
except SystemExit as exc:
    code = exc.code
print(json.dumps({
    "code": code,
    "frozen": gc.get_freeze_count(),
    "imported": sorted(m for m, module in sys.modules.items() if module is not None),
    "skipped": sorted(m for m, module in sys.modules.items() if module is None),
}))
"""

#: What other commands use, or libraries import eagerly: not imported by a sync's start-up.
NOT_FOR_A_SYNC = (
    "alembic",  # the schema check at head reads the version table (core.migrate.at_head)
    "mako",
    "uvicorn",  # crmkpi simulate / serve
    "yaml",  # user-defined KPIs (core.user_kpis)
    "core.targets",
    "core.user_kpis",
    "core.metrics.registry",  # crmkpi target / kpi
    "core.metrics.fx",  # crmkpi import fx
    "core.imports",  # crmkpi import
    "click",  # httpx's command-line client (core.startup)
    "rich.traceback",  # structlog's exception formatting, unused (core.startup)
    "rich.pretty",
    "pygments",
    "attr",
    "prometheus_client",  # exported by the API and counted by workers (core.prometheus)
)


def test_crmkpi_sync_starts_without_what_a_sync_does_not_use(
    database_url: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CRMKPI_DATABASE_URL": database_url,
            "CRMKPI_SECRET_KEYS": "0" * 43 + "=",
            "CRMKPI_LOG_FORMAT": "json",
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    # The command ran past its schema check to the sync, which found no such connection.
    assert report["code"] == 1 and "no connection conn_missing" in done.stderr, done.stderr
    imported = set(report["imported"])
    assert {"core.sync.runner", "core.migrate", "httpx", "typer"} <= imported
    unused = [m for m in imported if m.split(".")[0] in NOT_FOR_A_SYNC or m in NOT_FOR_A_SYNC]
    assert unused == []
    assert "httpx._main" in report["skipped"]
    assert report["frozen"] > 100_000  # the start-up's heap, frozen (core.startup)
