"""Lifecycle benchmark: the dashboard of bench/dashboard.graphql extended with churn,
retention and MRR (each with its comparison), against the same three KPIs alone and a
plain-Python reading of KPIS.md over the won deals.

The data is bench/metrics_data.py's, with every deal given one of ``deals / 8`` accounts
and one deal in ten a monthly recurring contract from its close date. ``CRMKPI_BENCH_SCALE``
shrinks the data; ``CRMKPI_BENCH_PG_SCALE`` only PostgreSQL's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.context import Context
from api.schema import create_schema
from api.session import SerialSession
from bench.harness import BenchContext, Measurement
from bench.metrics_bench import result_caches
from bench.metrics_data import generate
from core.db import create_engine, create_sessionmaker
from core.metrics import stretch_refresh
from core.metrics.stretches import from_base_tables
from core.migrate import upgrade
from core.models.enums import Role
from core.plugins import create_plugin_manager
from core.settings import Settings
from core.tenancy import Viewer

DASHBOARD = (Path(__file__).parent / "dashboard.graphql").read_text()
PERIOD = '{start: "2025-10-01", end: "2025-11-01"}'
LIFECYCLE_FIELDS = f"""
    customerChurnRate(period: {PERIOD}, compareTo: PREVIOUS_PERIOD) {{ ...kpi }}
    customerRetentionRate(period: {PERIOD}, compareTo: PREVIOUS_PERIOD) {{ ...kpi }}
    mrr(period: {PERIOD}, compareTo: PREVIOUS_PERIOD) {{ ...kpi }}
"""
# dashboard.graphql holds the three since part 2; the baseline is the dashboard without them.
EXTENDED = DASHBOARD
BASE = "".join(
    line
    for line in DASHBOARD.splitlines(keepends=True)
    if not line.lstrip().startswith(("customerChurnRate(", "customerRetentionRate(", "mrr("))
)
LIFECYCLE_ONLY = (
    "query Lifecycle($ws: ID!) { metrics(workspaceId: $ws) {"
    + LIFECYCLE_FIELDS
    + "} }\n"
    + DASHBOARD[DASHBOARD.index("fragment kpi") : DASHBOARD.index("fragment series")]
)
TZ = ZoneInfo("Europe/Madrid")
RUNS = 5
INACTIVITY_DAYS = 365


async def _accounts(engine: AsyncEngine, ws: str, deals: int) -> float:
    """Spread deals over accounts; one in ten gets a recurring contract from its close day.
    The deals are updated by hand, so the workspace's customer stretches are rebuilt: returns
    the seconds that took."""
    accounts = max(1, deals // 8)
    day = "CAST(closed_at AS DATE)" if engine.dialect.name == "postgresql" else "date(closed_at)"
    async with engine.begin() as conn:
        await conn.execute(
            text(
                f"UPDATE deals SET account_remote_id = 'acc' || (id % {accounts}), "
                "recurring_amount = CASE WHEN id % 10 = 0 THEN amount / 12 END, "
                f"contract_start = CASE WHEN id % 10 = 0 THEN {day} END, "
                f"contract_end = CASE WHEN id % 20 = 0 THEN {day} + 365 END"
                if engine.dialect.name == "postgresql"
                else f"UPDATE deals SET account_remote_id = 'acc' || (id % {accounts}), "
                "recurring_amount = CASE WHEN id % 10 = 0 THEN amount / 12 END, "
                f"contract_start = CASE WHEN id % 10 = 0 THEN {day} END, "
                f"contract_end = CASE WHEN id % 20 = 0 THEN date({day}, '+365 days') END"
            )
        )
        started = time.perf_counter()
        await conn.run_sync(stretch_refresh.rebuild, [ws])
        rebuilt = time.perf_counter() - started
        if engine.dialect.name != "postgresql":
            await conn.execute(text("ANALYZE"))
    if engine.dialect.name == "postgresql":
        # As after generate(): what autovacuum does after a bulk update (the visibility map
        # lets the index-only scans of the recurring contracts skip the heap).
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE"))
    return rebuilt


async def _graphql(
    engine: AsyncEngine,
    org: str,
    ws: str,
    query: str,
    *,
    base_tables: bool = False,
    runs: int = RUNS,
) -> tuple[list[float], Any]:
    schema = create_schema(Settings(graphql_max_tokens=100_000, graphql_max_aliases=100))
    sessionmaker = create_sessionmaker(engine)
    viewer = Viewer("bench", org, Role.VIEWER, frozenset({ws}))
    timings: list[float] = []
    data: Any = None
    for _ in range(runs):
        async with sessionmaker() as session:
            context = Context(
                session=SerialSession(session),
                sessionmaker=sessionmaker,
                settings=Settings(),
                plugins=create_plugin_manager(load_entrypoints=False),
                viewer=viewer,
            )
            started = time.perf_counter()
            reading = from_base_tables() if base_tables else contextlib.nullcontext()
            # the statements' cost, not a kept answer's
            with result_caches(enabled=False), reading:
                result = await schema.execute(
                    query, variable_values={"ws": ws}, context_value=context
                )
            timings.append(time.perf_counter() - started)
        if result.errors:
            raise RuntimeError(result.errors[0])
        assert result.data is not None
        data = result.data["metrics"]
    return timings, data


async def _python_reference(engine: AsyncEngine, ws: str) -> tuple[float, dict[str, float]]:
    """Churn and retention for October 2025 by reading the won deals into Python."""
    started = time.perf_counter()
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
    intervals: dict[str, list[tuple[date, date]]] = {}
    for account, closed, start, end in rows:
        if closed is None:  # the SQL reads the same: a win without a close time is skipped
            continue
        closed = closed if isinstance(closed, datetime) else datetime.fromisoformat(closed)
        day = closed.replace(tzinfo=closed.tzinfo or UTC).astimezone(TZ).date()
        spans = intervals.setdefault(account, [])
        spans.append((day, day + timedelta(days=INACTIVITY_DAYS)))
        if start is not None:
            start = start if isinstance(start, date) else date.fromisoformat(start)
            stop = date(9999, 1, 1)
            if end is not None:
                stop = (end if isinstance(end, date) else date.fromisoformat(end)) + timedelta(1)
            spans.append((start, stop))
    first, last = date(2025, 10, 1), date(2025, 10, 31)
    before = first - timedelta(days=1)
    at_start = lost = retained = 0
    for spans in intervals.values():
        merged: list[list[date]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        for s, e in merged:
            at_start += s <= before < e
            lost += first <= e <= last
        # KPIS.md "Retention": active the day before and on the last day, even when lost
        # and won back in between (two stretches).
        retained += any(s <= before < e for s, e in merged) and any(
            s <= last < e for s, e in merged
        )
    elapsed = time.perf_counter() - started
    return elapsed, {
        "customerChurnRate": lost / at_start if at_start else float("nan"),
        "customerRetentionRate": retained / at_start if at_start else float("nan"),
    }


async def measure(url: str, label: str, deals: int, activities: int) -> list[Measurement]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        org, ws = await generate(
            engine, deals=deals, activities=activities, workspaces=1, main_share=1.0
        )
        rebuilt = await _accounts(engine, ws, deals)
        dashboard, _ = await _graphql(engine, org, ws, BASE)
        extended, data = await _graphql(engine, org, ws, EXTENDED)
        alone, _ = await _graphql(engine, org, ws, LIFECYCLE_ONLY)
        computed: list[float] = []
        # Recomputed from the deals on SQLite only: on PostgreSQL the recomputation's
        # retention look-up (core.metrics.lifecycle.active_on) ran as a scan of the deals
        # per stretch, minutes at 400k deals.
        if engine.dialect.name == "sqlite":
            # Once: it takes tens of seconds at 100k deals, which is the point of the table.
            computed, same = await _graphql(
                engine, org, ws, LIFECYCLE_ONLY, base_tables=True, runs=1
            )
            names = ("customerChurnRate", "customerRetentionRate", "mrr")
            if any(data[name]["value"] != same[name]["value"] for name in names):
                raise AssertionError(f"{label}: maintained stretches answer differently")
        python_s, reference = await _python_reference(engine, ws)
        for name, value in reference.items():
            got = data[name]["value"]
            if got is None or abs(got - value) > 1e-9:
                raise AssertionError(f"{label} {name}: GraphQL {got} != Python {value}")
        notes = (
            f"{deals:,} deals over {max(1, deals // 8):,} accounts; churn "
            f"{data['customerChurnRate']['value']:.4f}, retention "
            f"{data['customerRetentionRate']['value']:.4f}, MRR {data['mrr']['value']:,.0f} "
            "(churn and retention identical to the Python reading)"
        )

        def warm(timings: list[float]) -> float:
            return statistics.median(timings[1:]) * 1000

        out = [
            Measurement(
                f"dashboard + churn, retention, MRR, {label}, warm, uncached",
                warm(extended),
                "ms",
                warm(dashboard),
                "the same dashboard without them (warm, uncached)",
                "",
                notes,
                key=f"lifecycle_{label}_dashboard_warm_ms",
            ),
            Measurement(
                f"churn, retention, MRR alone, {label}, warm, uncached",
                warm(alone),
                "ms",
                python_s * 1000,
                "reading the won deals into Python and merging stretches there",
                "",
                "three KPIs with comparison: one statement per entity",
                key=f"lifecycle_{label}_alone_warm_ms",
            ),
        ]
        if computed:
            out.append(
                Measurement(
                    f"churn, retention, MRR alone, {label}, stretches recomputed from the deals",
                    computed[0] * 1000,  # one run (see above)
                    "ms",
                    warm(alone),
                    "the same from the maintained customer_stretches table",
                    "",
                    f"same answers; rebuilding the workspace's stretches: {rebuilt * 1000:,.0f} ms",
                    key=f"lifecycle_{label}_base_tables_warm_ms",
                )
            )
        return out
    finally:
        await engine.dispose()


def run(ctx: BenchContext) -> list[Measurement]:
    scale = float(os.environ.get("CRMKPI_BENCH_SCALE", "1"))
    out = asyncio.run(
        measure(
            f"sqlite+aiosqlite:///{ctx.workdir / 'lifecycle.db'}",
            "sqlite",
            int(100_000 * scale),
            int(300_000 * scale),
        )
    )
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        url = cluster.create_database("lifecycle_bench")
        pg = float(os.environ.get("CRMKPI_BENCH_PG_SCALE", str(scale)))
        out += asyncio.run(measure(url, "postgresql", int(400_000 * pg), int(1_200_000 * pg)))
    finally:
        cluster.stop()
    return out
