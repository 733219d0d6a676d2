"""Pipedrive first load, measured (issue #21 item 3; not a test: run it by hand).

    .venv/bin/python -m tests.connectors.pipedrive.bench_first_load DEALS [LATENCY_MS]

1. The bench's own Pipedrive connector measurement (``bench/sync_bench.py``: the
   simulator in its own process, a full sync in a child process into PostgreSQL, the
   rate limiter lifted): records, wall time, records/s, requests.
2. The same first load with Pipedrive's burst limit on (``SimulatorOptions.rate_limit``:
   80 requests per 2 s, its 429s past that), the connector's own limiter, and a
   round-trip ``LATENCY_MS`` per answer (default 100 ms, a real API's order): requests,
   wall time, the share of the allowance used (requests / (80 per 2 s x wall)) and the
   429s the sync met (its retries: the simulator injects no other error). SQLite;
   the simulator (with deletions, as ``crmkpi simulate``) in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.sync_bench import ROOT, _env, _free_port

#: This module's name for ``-m`` (``__name__`` is ``__main__`` when run by hand).
_MODULE = "tests.connectors.pipedrive.bench_first_load"


def unlimited(deals: int) -> dict[str, Any]:
    from bench.sync_bench import measure, simulator
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        with simulator(deals, "pipedrive") as base_url:
            url = cluster.create_database(f"sync_pipedrive_{deals}")
            report = measure(url, base_url, "pipedrive")
    finally:
        cluster.stop()
    report["records_per_s"] = report["records"] / report["seconds"]
    return report


async def _limited(deals: int, latency_ms: int, workdir: Path) -> dict[str, Any]:
    from cryptography.fernet import Fernet

    from bench.sync_bench import _prepare, plugin_manager
    from connectors.pipedrive.simulator.app import API_TOKEN_BURST
    from core.db import create_engine
    from core.models.enums import SyncMode
    from core.secrets import Vault
    from core.sync.ratelimit import RateLimiters
    from core.sync.runner import SyncOptions, run_sync

    url = f"sqlite+aiosqlite:///{workdir / 'limited.db'}"
    key = Fernet.generate_key().decode()
    with _served(deals, latency_ms) as base_url:
        connection_id = await _prepare(url, base_url, key, "pipedrive")
        engine = create_engine(url)
        started = time.perf_counter()
        result = await run_sync(
            connection_id,
            engine=engine,
            pm=plugin_manager("pipedrive"),
            vault=Vault([key]),
            options=SyncOptions(mode=SyncMode.FULL, limiters=RateLimiters()),
        )
        seconds = time.perf_counter() - started
        await engine.dispose()
    requests = result.stats.requests  # every request sent, retried ones included
    return {
        "status": result.status.value,
        "records": result.records,
        "seconds": seconds,
        "requests_sent": requests,
        # the simulator injects no 5xx here: every retry answers a 429
        "http_429": result.stats.retries,
        "allowance_used": requests / (API_TOKEN_BURST / 2.0 * seconds),
        "records_per_s": result.records / seconds,
    }


@contextlib.contextmanager
def _served(deals: int, latency_ms: int) -> Iterator[str]:
    """``crmkpi simulate pipedrive --rate-limit`` with a latency, in its own process (a
    server sharing this process's GIL would deliver requests late and in bunches)."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", _MODULE, "serve", str(deals), str(port), str(latency_ms)],
        env=_env(),
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the simulator did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _serve(deals: int, port: int, latency_ms: int) -> None:
    import uvicorn

    from connectors.pipedrive.simulator import create_app
    from core.simulation.options import SimulatorOptions

    options = SimulatorOptions(
        seed=1, deals=deals, rate_limit=True, faults=f"latency={latency_ms}ms"
    )
    uvicorn.run(create_app(options), host="127.0.0.1", port=port, log_level="warning")


def main(argv: list[str]) -> None:
    if argv and argv[0] == "serve":
        _serve(int(argv[1]), int(argv[2]), int(argv[3]))
        return
    deals = int(argv[0]) if argv else 1000
    latency = int(argv[1]) if len(argv) > 1 else 100
    print("unlimited (bench connector measurement):", unlimited(deals), flush=True)
    with tempfile.TemporaryDirectory(prefix="crmkpi-pd-") as tmp:
        limited = asyncio.run(_limited(deals, latency, Path(tmp)))
    print(f"rate-limited, latency {latency} ms:", limited, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
