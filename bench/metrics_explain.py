"""Where the dashboard's time goes: every statement bench/dashboard.graphql issues, when it
starts and ends on which connection, the Python time around them, and EXPLAIN (ANALYZE,
BUFFERS) of each; the one-pass SQL's statements (bench/metrics_onepass.py) timed alone
beside the product's.

    python -m bench.metrics_explain [deals] [--explain] [--warm-pool]

Starts a throwaway PostgreSQL cluster, generates ``deals`` deals (default 100,000; 40% in
the measured workspace, three activities per deal, as bench/metrics_bench.py), runs the
dashboard cold (a new engine; with ``--warm-pool`` its connections opened first, as a
served app's lifespan does: api.session.warm_pool) and warm, and prints the timelines.
Not part of ``make bench``: a tool for finding the next thing to make faster.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.session import WARM_CONNECTIONS, warm_pool
from bench.metrics_bench import SERIES, run_graphql
from bench.metrics_data import generate
from bench.metrics_onepass import statements as one_pass_statements
from core.db import create_engine
from core.migrate import upgrade

#: (start, end, connection, SQL, parameters) of each statement of a run.
Logged = list[tuple[float, float, int, str, Any]]


def _flat(sql: str) -> str:
    return re.sub(r"\s+", " ", sql)


def record(engine: AsyncEngine, log: Logged) -> None:
    """Append every statement ``engine`` runs to ``log`` (perf_counter start and end)."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("started", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        started = conn.info["started"].pop()
        log.append((started, time.perf_counter(), id(conn), sql, params))


async def timeline(engine: AsyncEngine, org: str, ws: str, label: str, log: Logged) -> None:
    """One dashboard run: its total, the Python before, between and after its statements."""
    log.clear()
    (took,), _ = await run_graphql(engine, org, ws, runs=1)
    ended = time.perf_counter()
    began = ended - took
    first = min(s for s, *_ in log)
    last = max(e for _, e, *_ in log)
    connections = len({c for _, _, c, *_ in log})
    print(f"{label}: {took * 1000:.0f} ms, {len(log)} statements on {connections} connections;")
    print(f"  Python before the first statement {(first - began) * 1000:.1f} ms, after the last")
    print(f"  {(ended - last) * 1000:.1f} ms")
    for start, end, conn, sql, _ in sorted(log):
        print(
            f"  {(start - began) * 1000:7.1f} +{(end - start) * 1000:6.1f} ms "
            f"conn {conn % 1000:03d}  {_flat(sql)[:100]}"
        )


async def explain(engine: AsyncEngine, log: Logged) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each distinct SELECT of the last run, alone."""
    seen: set[str] = set()
    async with engine.connect() as conn:
        for _, _, _, sql, params in log:
            if sql in seen or not sql.lstrip().upper().startswith("SELECT"):
                continue
            seen.add(sql)
            plan = (await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)).all()
            print("=" * 100)
            print(_flat(sql)[:300])
            for (line,) in plan:
                print("   ", line)


async def alone(engine: AsyncEngine, ws: str, log: Logged, runs: int = 3) -> None:
    """Each statement alone on one connection, fastest of ``runs``: the product's (of the last
    run) and the one-pass SQL's."""
    product = [(f"product {_flat(sql)[7:60]}", sql, params) for _, _, _, sql, params in log]
    fastest: dict[str, float] = {}
    async with engine.connect() as conn:
        for _ in range(runs):
            for name, sql, params in product:
                started = time.perf_counter()
                await conn.exec_driver_sql(sql, params)
                took = time.perf_counter() - started
                fastest[name] = min(took, fastest.get(name, took))
            for name, sql, params in one_pass_statements(ws, SERIES):
                started = time.perf_counter()
                await conn.execute(text(sql), params)
                took = time.perf_counter() - started
                fastest[f"one-pass {name}"] = min(took, fastest.get(f"one-pass {name}", took))
    for side in ("product", "one-pass"):
        rows = {k: v for k, v in fastest.items() if k.startswith(side)}
        print(f"{side}: {sum(rows.values()) * 1000:.0f} ms in all, statement by statement")
        for name, took in sorted(rows.items(), key=lambda kv: -kv[1]):
            print(f"  {took * 1000:7.1f} ms  {name}")


async def main(deals: int, plans: bool, warm: bool = False) -> None:
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        url = cluster.create_database("explain")
        engine = create_engine(url)
        await upgrade(engine)
        org, ws = await generate(
            engine, deals=deals, activities=3 * deals, workspaces=5, main_share=0.4
        )
        await engine.dispose()
        log: Logged = []
        engine = create_engine(url)  # cold: new connections, empty compiled cache
        if warm:
            await warm_pool(engine, WARM_CONNECTIONS)
        record(engine, log)
        await timeline(engine, org, ws, "cold", log)
        for i in range(3):
            await timeline(engine, org, ws, f"warm {i + 1}", log)
        await alone(engine, ws, log)
        if plans:
            await explain(engine, log)
        await engine.dispose()
    finally:
        cluster.stop()


if __name__ == "__main__":
    if "--help" in sys.argv or "-h" in sys.argv:
        print(__doc__)
        sys.exit(0)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(
        main(int(args[0]) if args else 100_000, "--explain" in sys.argv, "--warm-pool" in sys.argv)
    )
