"""GraphQL throughput: the dashboard query (bench/dashboard.graphql) from 50 concurrent clients.

The API runs under uvicorn in its own process (as deployed) on a generated SQLite
workspace; 50 httpx clients in this process post the dashboard query in a loop for a fixed
time. Reported: requests/s and p50/p95/p99 latency. Answers after the first come from the
metric result cache (keyed by the workspace's data versions), as for a real dashboard that
many people open between two syncs; the baseline is one client alone (no concurrency), so
the table shows what concurrency costs.

Runnable alone: ``python -m bench.graphql_bench [--quick]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.harness import BenchContext, Measurement

ROOT = Path(__file__).resolve().parents[1]
QUERY = (Path(__file__).parent / "dashboard.graphql").read_text()
CLIENTS = 50
DEALS = 5_000


async def _prepare(database_url: str) -> tuple[str, str]:
    """Migrate, generate the workspace, create a viewer key; returns (workspace id, key)."""
    from bench.metrics_data import generate
    from core.db import create_engine, create_sessionmaker
    from core.migrate import upgrade
    from core.tenancy import create_api_key

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        org, ws = await generate(
            engine, deals=DEALS, activities=DEALS * 3, workspaces=1, main_share=1.0
        )
        async with create_sessionmaker(engine)() as session:
            _, plain = await create_api_key(session, organization_id=org, name="bench")
            await session.commit()
        return ws, plain
    finally:
        await engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def api_server(database_url: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRMKPI_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.graphql_bench", "serve", database_url, str(port)],
        env=env,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the API did not start")
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _load(base_url: str, ws: str, key: str, clients: int, seconds: float) -> list[float]:
    """Latencies (s) of every request answered within ``seconds``; any error fails the run."""
    body = {"query": QUERY, "variables": {"ws": ws}}
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as http:
        first = await http.post("/graphql", json=body, headers=headers)  # fills the cache
        payload = first.json()
        if first.status_code != 200 or payload.get("errors"):
            raise RuntimeError(f"dashboard query failed: {first.text[:300]}")
        stop = time.monotonic() + seconds

        async def client() -> None:
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await http.post("/graphql", json=body, headers=headers)
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(f"dashboard query failed: {response.text[:300]}")
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def run(ctx: BenchContext) -> list[Measurement]:
    seconds = 10.0 if ctx.quick else 30.0
    url = f"sqlite+aiosqlite:///{ctx.workdir / 'graphql.db'}"
    ws, key = asyncio.run(_prepare(url))
    with api_server(url) as base_url:
        alone = asyncio.run(_load(base_url, ws, key, 1, seconds / 3))
        loaded = asyncio.run(_load(base_url, ws, key, CLIENTS, seconds))
    rps, rps_alone = len(loaded) / seconds, len(alone) / (seconds / 3)
    p50, p95, p99 = (_percentile(loaded, s) for s in (0.50, 0.95, 0.99))
    notes = (
        f"{DEALS:,} deals, SQLite, uvicorn (1 process) on localhost; {len(loaded):,} requests "
        f"in {seconds:g}s; p50 {p50:.0f} ms, p95 {p95:.0f} ms, p99 {p99:.0f} ms; one client "
        f"alone: median {statistics.median(alone) * 1000:.1f} ms"
    )
    print(f"   graphql: {notes}", flush=True)
    return [
        Measurement(
            f"dashboard query, {CLIENTS} concurrent clients",
            rps,
            "requests/s",
            baseline=rps_alone,
            baseline_name="one client alone",
            notes=notes,
            key="graphql_rps_50_clients",
        ),
        Measurement(f"p50, {CLIENTS} clients", p50, "ms", notes="same run"),
        Measurement(f"p95, {CLIENTS} clients", p95, "ms", notes="same run"),
        Measurement(
            f"p99, {CLIENTS} clients",
            p99,
            "ms",
            baseline=_percentile(alone, 0.99),
            baseline_name="p99 of one client alone",
            notes="same run",
            key="graphql_p99_ms",
        ),
    ]


def _main(argv: list[str]) -> None:
    if argv and argv[0] == "serve":
        import uvicorn

        from api.app import create_app
        from core.settings import Settings

        settings = Settings(
            database_url=argv[1],
            scheduler="off",
            log_level="WARNING",
            graphql_max_tokens=100_000,
            graphql_max_aliases=100,
            # Throughput of the API itself: the per-key limit (600/min) would cap 50 clients.
            rate_limit_per_minute=0,
        )
        app = create_app(settings)
        uvicorn.run(app, host="127.0.0.1", port=int(argv[2]), log_level="warning", access_log=False)
        return
    with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
        for m in run(BenchContext(workdir=Path(tmp), quick="--quick" in argv)):
            print(f"{m.name}: {m.value:,.1f} {m.unit}  (baseline {m.baseline}) {m.notes}")


if __name__ == "__main__":
    _main(sys.argv[1:])
