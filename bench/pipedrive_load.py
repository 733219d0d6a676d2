"""Pipedrive's rate-limited first load: how much of the account's allowance a full sync uses.

Issue #21's target: a first load bound by the CRM's allowance, not by round trips (>= 90%
of it, no 429). The simulator runs in its own process (a server sharing the sync's GIL
would answer late and in bunches) with Pipedrive's burst limit enforced (``rate_limit``:
80 requests per rolling 2 s, 429 + Retry-After past it, as documented for an API token on
the Professional plan) and a round trip of ``latency_ms`` per answer (a real API's order).
The product syncs it in full, with its own limiter, into SQLite (the database is not what
is measured). Reported: requests answered, 429s met (both counted on the wire by an httpx
response hook, not inferred from retries), wall time, and the share of the allowance used:
requests / (80 per 2 s x wall).

Part of ``python -m bench ratelimit`` (bench/ratelimit_bench.py); by hand, another size:
``python -m bench.pipedrive_load DEALS [LATENCY_MS]``. ``python -m bench.pipedrive_load
unlimited DEALS`` gives the same first load with the limiter lifted instead (the sync
bench's connector measurement, bench/sync_bench.py: into PostgreSQL, records/s).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.sync_bench import ROOT, _env, _free_port, listening
from core import eventloop

#: Deals of the bench's first load: ~1,200 requests, ~30 s at the allowance. The share is
#: the same at 10,000 deals (docs/connectors/pipedrive.md: 95% at 3,000 and at 10,000).
DEALS = 1500
QUICK_DEALS = 500
LATENCY_MS = 100
#: This module, for ``-m`` (``__name__`` is ``__main__`` when run by hand).
_MODULE = "bench.pipedrive_load"


async def first_load(deals: int, latency_ms: int, workdir: Path) -> dict[str, Any]:
    """One full sync of a rate-limited simulator of ``deals`` deals; what it achieved."""
    from cryptography.fernet import Fernet

    from bench.sync_bench import _prepare, plugin_manager
    from connectors.pipedrive.simulator.app import API_TOKEN_BURST
    from core.db import create_engine
    from core.models.enums import SyncMode
    from core.secrets import Vault
    from core.sync.http import create_http_client
    from core.sync.ratelimit import RateLimiters
    from core.sync.runner import SyncOptions, run_sync

    url = f"sqlite+aiosqlite:///{workdir / 'pipedrive_first_load.db'}"
    key = Fernet.generate_key().decode()
    statuses: Counter[int] = Counter()
    refused: Counter[str] = Counter()  # "404 /v1/leads/{id}": what the errors answered

    async def count(response: httpx.Response) -> None:
        statuses[response.status_code] += 1
        if response.status_code >= 400 and response.status_code != 429:
            path = re.sub(r"/[0-9a-f-]*[0-9][0-9a-f-]*(?=/|$)", "/{id}", response.url.path)
            refused[f"{response.status_code} {path}"] += 1

    with _served(deals, latency_ms) as base_url:
        connection_id = await _prepare(url, base_url, key, "pipedrive")
        engine = create_engine(url)
        client = create_http_client()
        client.event_hooks["response"].append(count)
        try:
            started = time.perf_counter()
            result = await run_sync(
                connection_id,
                engine=engine,
                pm=plugin_manager("pipedrive"),
                vault=Vault([key]),
                options=SyncOptions(
                    mode=SyncMode.FULL, limiters=RateLimiters(), http_client=client
                ),
            )
            seconds = time.perf_counter() - started
        finally:
            await client.aclose()
            await engine.dispose()
    answered = sum(statuses.values())
    return {
        "status": result.status.value,
        "deals": deals,
        "latency_ms": latency_ms,
        "records": result.records,
        "seconds": seconds,
        "requests": answered,
        "http_429": statuses[429],
        "other_errors": dict(sorted(refused.items())),
        "allowance_used": answered / (API_TOKEN_BURST / 2.0 * seconds),
    }


def unlimited(deals: int) -> dict[str, Any]:
    """The sync bench's Pipedrive measurement at ``deals`` deals: the limiter lifted, the
    simulator in its own process, a full sync in a child process into PostgreSQL."""
    from bench.sync_bench import measure as measure_sync
    from bench.sync_bench import simulator
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        with simulator(deals, "pipedrive") as base_url:
            url = cluster.create_database(f"sync_pipedrive_{deals}")
            report = measure_sync(url, base_url, "pipedrive")
    finally:
        cluster.stop()
    report["records_per_s"] = report["records"] / report["seconds"]
    return report


def measure(deals: int, latency_ms: int = LATENCY_MS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="crmkpi-pd-") as tmp:
        return eventloop.run(first_load(deals, latency_ms, Path(tmp)))  # as `crmkpi sync`


@contextlib.contextmanager
def _served(deals: int, latency_ms: int) -> Iterator[str]:
    """``crmkpi simulate pipedrive --rate-limit`` with a latency, in its own process."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", _MODULE, "serve", str(deals), str(port), str(latency_ms)],
        env=_env(),
        cwd=ROOT,
    )
    with listening(process, port, start_timeout=300) as base_url:
        yield base_url


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
    if argv and argv[0] == "unlimited":
        print("limiter lifted:", unlimited(int(argv[1]) if len(argv) > 1 else DEALS))
        return
    deals = int(argv[0]) if argv else DEALS
    latency = int(argv[1]) if len(argv) > 1 else LATENCY_MS
    print(f"rate-limited first load, latency {latency} ms:", measure(deals, latency), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
