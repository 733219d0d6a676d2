"""Load check (issue #20): the heaviest allowed query must not stall other clients.

One client sends the heaviest metrics query the work budget allows (core.metrics.cost: KPI
fields with ``granularity: DAY`` over two years, up to ``metrics_max_points``), again and
again, uncached (each asks for a different end date); meanwhile a second client sends a
cheap query (``viewer``) and ``/healthz`` in a loop, and its p99 latency is measured. The
baseline is the same cheap client with nobody else. The API runs under uvicorn in its own
process on a generated SQLite workspace (bench.graphql_bench). Not a timed test: a report.

Runnable alone: ``python -m bench.load_bench [--quick]``.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench.graphql_bench import _percentile, _prepare, api_server
from bench.harness import BenchContext, Measurement
from core.metrics.cost import DEFAULT_MAX_POINTS

#: KPIs with a DAY series over two years: 732 points each (core.metrics.cost).
HEAVY_KPIS = ("salesRevenue", "dealsWon", "opportunitiesCreated", "activities")
CHEAP = "{ viewer { role } }"


def heavy_query(end: date) -> str:
    start = end - timedelta(days=730)
    fields = " ".join(
        f'k{i}: {name}(period: {{start: "{start}", end: "{end}"}}, granularity: DAY) '
        "{ value series { value } }"
        for i, name in enumerate(HEAVY_KPIS)
    )
    return f"query Heavy($ws: ID!) {{ metrics(workspaceId: $ws) {{ {fields} }} }}"


async def _cheap(http: httpx.AsyncClient, key: str, stop: float) -> list[float]:
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    while time.monotonic() < stop:
        started = time.perf_counter()
        answer = await http.post("/graphql", json={"query": CHEAP}, headers=headers)
        health = await http.get("/healthz")
        if answer.status_code != 200 or health.status_code != 200:
            raise RuntimeError(f"cheap query failed: {answer.text[:200]}")
        latencies.append((time.perf_counter() - started) / 2)
    return latencies


async def _heavy(http: httpx.AsyncClient, ws: str, key: str, stop: float) -> list[float]:
    seconds: list[float] = []
    headers = {"Authorization": f"Bearer {key}"}
    end = date(2026, 1, 1)
    while time.monotonic() < stop:
        end -= timedelta(days=1)  # a new period each time: never a cached answer
        body = {"query": heavy_query(end), "variables": {"ws": ws}}
        started = time.perf_counter()
        answer = await http.post("/graphql", json=body, headers=headers)
        payload = answer.json()
        if answer.status_code != 200 or payload.get("errors"):
            raise RuntimeError(f"heavy query failed: {answer.text[:300]}")
        seconds.append(time.perf_counter() - started)
    return seconds


async def _measure(base_url: str, ws: str, key: str, seconds: float) -> dict[str, list[float]]:
    async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
        alone = await _cheap(http, key, time.monotonic() + seconds / 3)
        stop = time.monotonic() + seconds
        loaded, heavy = await asyncio.gather(_cheap(http, key, stop), _heavy(http, ws, key, stop))
    return {"alone": alone, "loaded": loaded, "heavy": heavy}


def run(ctx: BenchContext) -> list[Measurement]:
    seconds = 15.0 if ctx.quick else 45.0
    url = f"sqlite+aiosqlite:///{ctx.workdir / 'load.db'}"
    ws, key = asyncio.run(_prepare(url))
    with api_server(url) as server:
        found = asyncio.run(_measure(server.url, ws, key, seconds))
    p99_alone = _percentile(found["alone"], 0.99)
    p99 = _percentile(found["loaded"], 0.99)
    heavy = found["heavy"]
    points = len(HEAVY_KPIS) * 732
    notes = (
        f"heaviest allowed query: {len(HEAVY_KPIS)} KPIs x DAY over 2 years = {points:,} "
        f"points (limit {DEFAULT_MAX_POINTS:,}), {len(heavy)} sent in {seconds:g}s, median "
        f"{statistics.median(heavy):.2f} s; cheap client (viewer + /healthz) p99 {p99:.0f} ms "
        f"under load, {p99_alone:.0f} ms alone; SQLite, uvicorn (1 process)"
    )
    print(f"   load: {notes}", flush=True)
    return [
        Measurement(
            "cheap query p99 while the heaviest allowed query runs",
            p99,
            "ms",
            baseline=p99_alone,
            baseline_name="p99 with no other client",
            notes=notes,
            key="load_cheap_p99_ms",
        ),
        Measurement(
            "heaviest allowed metrics query", statistics.median(heavy), "s", notes="same run"
        ),
    ]


def _main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
        for m in run(BenchContext(workdir=Path(tmp), quick="--quick" in argv)):
            print(f"{m.name}: {m.value:,.2f} {m.unit}  (baseline {m.baseline}) {m.notes}")


if __name__ == "__main__":
    _main(sys.argv[1:])
