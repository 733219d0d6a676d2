"""Lifecycle benchmark (#19): churn, retention and MRR, each with its comparison, at 50k
accounts on PostgreSQL (target: <= 50 ms uncached), the product against the best
hand-written SQL on the same schema, timed interleaved in one run.

The product is the GraphQL query of the three KPIs executed by the API's schema with the
result caches and kept answers bypassed (every run computes every number); the baseline is
bench/lifecycle_onepass.py's single statement, run on the same engine (same driver, same
settings). Both must give the same figures before anything is reported, and churn and
retention are also checked against a plain-Python reading of KPIS.md over the won deals.
The data is bench/lifecycle_data.py's (8 deals per account, one in ten recurring).
``CRMKPI_BENCH_SCALE`` scales the accounts; ``--quick`` runs a tenth.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import freeze_startup_heap
from api.context import Context
from api.schema import create_schema
from api.session import RequestSessions
from bench import lifecycle_onepass
from bench.harness import BenchContext, Measurement
from bench.lifecycle_data import TIMEZONE, generate
from bench.metrics_bench import result_caches
from core.db import create_engine, create_sessionmaker
from core.migrate import upgrade
from core.models.enums import Role
from core.plugins import create_plugin_manager
from core.settings import Settings
from core.tenancy import Viewer, tenant_session

ACCOUNTS = 50_000
DEALS_PER_ACCOUNT = 8
RUNS = 15
FIRST, END = date(2025, 10, 1), date(2025, 11, 1)
PREVIOUS = (date(2025, 9, 1), FIRST)
PERIOD = f'{{start: "{FIRST}", end: "{END}"}}'
QUERY = (
    "query Lifecycle($ws: ID!) { metrics(workspaceId: $ws) {"
    + "".join(
        f" {kpi}(period: {PERIOD}, compareTo: PREVIOUS_PERIOD) {{ value numerator denominator"
        " comparison { value } }"
        for kpi in ("customerChurnRate", "customerRetentionRate", "mrr")
    )
    + " } }"
)
INACTIVITY_DAYS = 365


class Product:
    """The lifecycle query through the API's schema and executor, caches bypassed, with the
    request session api.app gives it (tenant-scoped, concurrent readers on PostgreSQL, the
    statement timeout, api.session.RequestSessions); timed from opening the session to the
    answer. Its start-up heap is frozen, as a served app's (api.app.freeze_startup_heap)."""

    def __init__(self, engine: AsyncEngine, org: str, ws: str) -> None:
        self.settings = Settings()
        self.schema = create_schema(self.settings)
        self.sessionmaker = create_sessionmaker(engine)
        self.requests = RequestSessions(engine, self.settings.statement_timeout_seconds)
        self.viewer = Viewer("bench", org, Role.VIEWER, frozenset({ws}))
        self.plugins = create_plugin_manager(load_entrypoints=False)
        self.ws = ws
        #: Python CPU seconds of each run (this process: the API's work, not the database's).
        self.cpu: list[float] = []
        #: Statements each run sent (round trips).
        self.statements = 0
        for counted in {engine, self.requests.engine}:
            event.listen(counted.sync_engine, "before_cursor_execute", self._count)
        freeze_startup_heap()

    def _count(self, *args: Any) -> None:
        self.statements += 1

    async def run(self) -> tuple[float, dict[str, Any]]:
        cpu = time.process_time()
        started = time.perf_counter()
        async with tenant_session(self.requests.sessionmaker, self.viewer) as session:
            context = Context(
                session=self.requests.serial(session),
                sessionmaker=self.sessionmaker,
                settings=self.settings,
                plugins=self.plugins,
                viewer=self.viewer,
            )
            with result_caches(enabled=False):
                result = await self.schema.execute(
                    QUERY, variable_values={"ws": self.ws}, context_value=context
                )
            elapsed = time.perf_counter() - started
        self.cpu.append(time.process_time() - cpu)
        if result.errors:
            raise RuntimeError(result.errors[0])
        assert result.data is not None
        return elapsed, result.data["metrics"]


async def _hand_written(
    engine: AsyncEngine, values: dict[str, Any], *, parallel: bool = False
) -> tuple[float, Any]:
    """One run of the hand-written SQL on pooled connections, as the product's: one
    statement, or its two scans at once."""
    started = time.perf_counter()
    if parallel:
        figures = await lifecycle_onepass.run_parallel(engine, values)
    else:
        async with engine.connect() as conn:
            figures = await lifecycle_onepass.run(conn, values)
    return time.perf_counter() - started, figures


async def _python_reference(engine: AsyncEngine, ws: str) -> dict[str, float]:
    """Churn and retention for the period by reading the won deals into Python."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT account_remote_id, closed_at, contract_start, contract_end FROM deals "
                    "WHERE workspace_id = :ws AND deleted_at IS NULL AND status = 'WON'"
                ),
                {"ws": ws},
            )
        ).all()
    zone = ZoneInfo(TIMEZONE)
    intervals: dict[str, list[tuple[date, date]]] = {}
    for account, closed, start, end in rows:
        if closed is None:  # the SQL reads the same: a win without a close time is skipped
            continue
        day = closed.replace(tzinfo=closed.tzinfo or UTC).astimezone(zone).date()
        spans = intervals.setdefault(account, [])
        spans.append((day, day + timedelta(days=INACTIVITY_DAYS)))
        if start is not None:
            stop = date(9999, 1, 1) if end is None else end + timedelta(1)
            spans.append((start, stop))
    last = END - timedelta(days=1)
    before = FIRST - timedelta(days=1)
    at_start = lost = retained = 0
    for spans in intervals.values():
        merged: list[list[date]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        at_start += any(s <= before < e for s, e in merged)
        lost += sum(FIRST <= e <= last for _, e in merged)
        # KPIS.md "Retention": active the day before and on the last day, even when lost
        # and won back in between (two stretches).
        retained += any(s <= before < e for s, e in merged) and any(
            s <= last < e for s, e in merged
        )
    return {
        "customerChurnRate": lost / at_start,
        "customerRetentionRate": retained / at_start,
    }


def _ms(timings: list[float]) -> float:
    return statistics.median(timings) * 1000


async def measure(url: str, accounts: int, runs: int) -> list[Measurement]:
    engine = create_engine(url)
    try:
        started = time.perf_counter()
        await upgrade(engine)
        org, ws = await generate(engine, accounts=accounts, deals_per_account=DEALS_PER_ACCOUNT)
        generated = time.perf_counter() - started
        product = Product(engine, org, ws)
        values = lifecycle_onepass.parameters(ws, (PREVIOUS, (FIRST, END)), TIMEZONE)
        # Warm-up of both (plans, pools, the schema), then the equality check.
        _, data = await product.run()
        product.statements = 0
        _, data = await product.run()
        statements = product.statements
        product.cpu.clear()
        for parallel in (False, True):
            _, hand = await _hand_written(engine, values, parallel=parallel)
            wrong = lifecycle_onepass.mismatches(data, hand)
            if wrong:
                raise AssertionError(f"product and hand-written SQL differ: {wrong}")
        reference = await _python_reference(engine, ws)
        for name, value in reference.items():
            if abs(data[name]["value"] - value) > 1e-12:
                raise AssertionError(f"{name}: GraphQL {data[name]['value']} != Python {value}")
        timings: dict[str, list[float]] = {"product": [], "one": [], "two": []}
        sides = list(timings)
        for n in range(runs):  # interleaved, each run in another order
            for side in sides[n % 3 :] + sides[: n % 3]:
                if side == "product":
                    elapsed, _ = await product.run()
                else:
                    elapsed, _ = await _hand_written(engine, values, parallel=side == "two")
                timings[side].append(elapsed)
        ours = timings["product"]
        best = min(("one", "two"), key=lambda side: _ms(timings[side]))
        theirs = timings[best]
        load = os.getloadavg()[0]
        notes = (
            f"{accounts:,} accounts, {accounts * DEALS_PER_ACCOUNT:,} deals (one in ten "
            f"recurring); churn {data['customerChurnRate']['value']:.4f}, retention "
            f"{data['customerRetentionRate']['value']:.4f}, MRR {data['mrr']['value']:,.0f}: "
            "the same figures from both, churn and retention also from a Python reading; "
            f"{runs} interleaved runs, medians (min {min(ours) * 1000:.1f} / "
            f"{min(theirs) * 1000:.1f} ms); hand-written as one statement "
            f"{_ms(timings['one']):.1f} ms, as its two scans at once "
            f"{_ms(timings['two']):.1f} ms (the faster is the baseline); the product sends "
            f"{statements} statements a request and spends {_ms(product.cpu):.1f} ms of "
            "Python CPU on it (median); load average "
            f"{load:.1f}; data generated in {generated:.0f} s"
        )
        await product.requests.close()
        return [
            Measurement(
                "churn, retention, MRR with comparison, postgresql, warm, uncached",
                _ms(ours),
                "ms",
                _ms(theirs),
                "best hand-written SQL on the same schema (bench/lifecycle_onepass.py)",
                "≤ 50 ms",
                notes,
                key="lifecycle_postgresql_alone_warm_ms",
            ),
            Measurement(
                "churn, retention, MRR / hand-written SQL, postgresql",
                _ms(ours) / _ms(theirs),
                "ratio",
                1.0,
                "hand-written SQL",
                "",
                "median over median of the interleaved runs above",
                key="lifecycle_postgresql_ratio",
            ),
        ]
    finally:
        await engine.dispose()


def run(ctx: BenchContext) -> list[Measurement]:
    scale = float(os.environ.get("CRMKPI_BENCH_SCALE", "1")) * (0.1 if ctx.quick else 1.0)
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        url = cluster.create_database("lifecycle_bench")
        return asyncio.run(measure(url, max(100, int(ACCOUNTS * scale)), RUNS))
    finally:
        cluster.stop()
