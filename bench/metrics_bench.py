"""Metrics benchmark: the dashboard query of bench/dashboard.graphql through GraphQL, against
the same numbers computed by one hand-written SQL statement per KPI and period.

SQLite: 100k deals and 300k activities in one workspace. PostgreSQL: 1M deals (400k in the
measured workspace) and 3M activities over five workspaces. ``CRMKPI_BENCH_SCALE`` (e.g.
0.1) shrinks both for a quick run; ``CRMKPI_BENCH_PG_SCALE`` shrinks only PostgreSQL.
Every GraphQL number is checked against the hand-written SQL before timings are reported.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.context import Context
from api.schema import create_schema
from api.session import SerialSession
from bench.harness import BenchContext, Measurement
from bench.metrics_data import generate
from core.db import create_engine, create_sessionmaker
from core.migrate import upgrade
from core.models.enums import Role
from core.plugins import create_plugin_manager
from core.settings import Settings
from core.tenancy import Viewer

QUERY = (Path(__file__).parent / "dashboard.graphql").read_text()
#: Part 2's lifecycle KPIs in the dashboard; not in the hand-written SQL (bench/lifecycle_bench.py
#: checks their values against a plain-Python reading of KPIS.md).
LIFECYCLE = ("customerChurnRate", "customerRetentionRate", "mrr")
assert all(f"    {name}(" in QUERY for name in LIFECYCLE), "dashboard.graphql lost a lifecycle KPI"
TZ = ZoneInfo("Europe/Madrid")
RUNS = 5


def _utc(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=TZ).astimezone(UTC)


MONTH = (_utc(2025, 10), _utc(2025, 11))
PREVIOUS = (_utc(2025, 9), _utc(2025, 10))
SERIES = [
    (_utc(2024 + (10 + i) // 12, (10 + i) % 12 + 1), _utc(2024 + (11 + i) // 12, (11 + i) % 12 + 1))
    for i in range(12)
]


def _days(dialect: str) -> str:
    if dialect == "postgresql":
        return "EXTRACT(EPOCH FROM (closed_at - remote_created_at)) / 86400.0"
    return "(julianday(closed_at) - julianday(remote_created_at))"


def hand_written(dialect: str) -> dict[str, str]:
    """One statement per KPI; :s/:e are the period's UTC bounds, :ws the workspace."""
    deals = "FROM deals WHERE workspace_id = :ws AND deleted_at IS NULL"
    won = f"{deals} AND status = 'WON' AND closed_at >= :s AND closed_at < :e"
    open_end = f"{deals} AND remote_created_at < :e AND (status = 'OPEN' OR closed_at >= :e)"
    return {
        "salesRevenue": f"SELECT COALESCE(SUM(amount), 0) {won}",
        "dealsWon": f"SELECT COUNT(*) {won}",
        "dealsLost": f"SELECT COUNT(*) {deals} AND status = 'LOST' AND closed_at >= :s AND "
        "closed_at < :e",
        "winRate": "SELECT 1.0 * SUM(CASE WHEN status = 'WON' THEN 1 ELSE 0 END) / COUNT(*) "
        f"{deals} "
        "AND status IN ('WON', 'LOST') AND closed_at >= :s AND closed_at < :e",
        "averageDealSize": f"SELECT AVG(amount) {won}",
        "closeRate": f"SELECT 1.0 * (SELECT COUNT(*) {won}) / (SELECT COUNT(*) {deals} "
        "AND remote_created_at < :e AND (status = 'OPEN' OR closed_at > :s))",
        "opportunitiesCreated": f"SELECT COUNT(*) {deals} AND remote_created_at >= :s AND "
        "remote_created_at < :e",
        "averageSalesCycleDays": f"SELECT AVG({_days(dialect)}) {won}",
        "pipelineValue": f"SELECT COALESCE(SUM(amount), 0) {open_end}",
        "weightedPipelineValue": "SELECT COALESCE(SUM(d.amount * COALESCE(st.probability, 0)), 0) "
        "FROM deals d LEFT JOIN stages st ON st.connection_id = d.connection_id "
        "AND st.remote_id = d.stage_remote_id WHERE d.workspace_id = :ws AND d.deleted_at IS NULL "
        "AND d.remote_created_at < :e AND (d.status = 'OPEN' OR d.closed_at >= :e)",
        "openDeals": f"SELECT COUNT(*) {open_end}",
        "activities": "SELECT COUNT(*) FROM activities WHERE workspace_id = :ws AND deleted_at IS "
        "NULL "
        "AND done_at >= :s AND done_at < :e",
    }


SERIES_KPIS = {
    "revenueSeries": "salesRevenue",
    "wonSeries": "dealsWon",
    "createdSeries": "opportunitiesCreated",
    "activitySeries": "activities",
}
BREAKDOWNS = {
    "revenueByOwner": "SELECT u.id, SUM(d.amount) FROM deals d LEFT JOIN users u ON "
    "u.connection_id = d.connection_id AND u.remote_id = d.owner_remote_id WHERE d.workspace_id = "
    ":ws "
    "AND d.deleted_at IS NULL AND d.status = 'WON' AND d.closed_at >= :s AND d.closed_at < :e "
    "GROUP BY u.id",
    "activitiesByOwner": "SELECT u.id, COUNT(*) FROM activities a LEFT JOIN users u ON "
    "u.connection_id = a.connection_id AND u.remote_id = a.owner_remote_id WHERE a.workspace_id = "
    ":ws "
    "AND a.deleted_at IS NULL AND a.done_at >= :s AND a.done_at < :e GROUP BY u.id",
}


def _bind(dialect: str, value: datetime) -> Any:
    # SQLite stores naive UTC text; PostgreSQL takes aware datetimes.
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


async def run_hand_written(engine: AsyncEngine, ws: str) -> tuple[float, dict[str, Any]]:
    dialect = engine.dialect.name
    sql = hand_written(dialect)
    out: dict[str, Any] = {}
    started = time.perf_counter()
    async with engine.connect() as conn:
        for name, statement in sql.items():
            for label, (s, e) in (("value", MONTH), ("previous", PREVIOUS)):
                params = {"ws": ws, "s": _bind(dialect, s), "e": _bind(dialect, e)}
                out[f"{name}.{label}"] = (await conn.execute(text(statement), params)).scalar()
        for alias, kpi in SERIES_KPIS.items():
            for i, (s, e) in enumerate(SERIES):
                params = {"ws": ws, "s": _bind(dialect, s), "e": _bind(dialect, e)}
                out[f"{alias}.{i}"] = (await conn.execute(text(sql[kpi]), params)).scalar()
        for alias, statement in BREAKDOWNS.items():
            params = {"ws": ws, "s": _bind(dialect, MONTH[0]), "e": _bind(dialect, MONTH[1])}
            rows = (await conn.execute(text(statement), params)).all()
            out[alias] = {str(k) if k is not None else "": float(v) for k, v in rows}
    return time.perf_counter() - started, out


async def run_graphql(engine: AsyncEngine, org: str, ws: str) -> tuple[list[float], dict[str, Any]]:
    schema = create_schema(Settings(graphql_max_tokens=100_000, graphql_max_aliases=100))
    sessionmaker = create_sessionmaker(engine)
    viewer = Viewer("bench", org, Role.VIEWER, frozenset({ws}))
    timings: list[float] = []
    data: dict[str, Any] = {}
    for _ in range(RUNS):
        async with sessionmaker() as session:
            context = Context(
                session=SerialSession(session),
                sessionmaker=sessionmaker,
                settings=Settings(),
                plugins=create_plugin_manager(load_entrypoints=False),
                viewer=viewer,
            )
            started = time.perf_counter()
            result = await schema.execute(QUERY, variable_values={"ws": ws}, context_value=context)
            timings.append(time.perf_counter() - started)
        if result.errors:
            raise RuntimeError(result.errors[0])
        assert result.data is not None
        data = result.data["metrics"]
    return timings, data


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(b)))


def compare(graphql: dict[str, Any], hand: dict[str, Any]) -> list[str]:
    """Mismatches between the GraphQL answer and the hand-written SQL (empty when equal)."""
    bad = []
    for name in hand_written("sqlite"):
        kpi = graphql[name]
        if not _close(kpi["value"], hand[f"{name}.value"]):
            bad.append(f"{name}: {kpi['value']} != {hand[f'{name}.value']}")
        if not _close(kpi["comparison"]["value"], hand[f"{name}.previous"]):
            bad.append(f"{name} previous: {kpi['comparison']['value']}")
    for alias in SERIES_KPIS:
        for i, point in enumerate(graphql[alias]["series"]):
            if not _close(point["value"], hand[f"{alias}.{i}"] or 0):
                bad.append(f"{alias}[{i}]: {point['value']} != {hand[f'{alias}.{i}']}")
    for alias in BREAKDOWNS:
        top = {g["key"]: g["value"] for g in graphql[alias]["breakdown"] if g["key"] is not None}
        for key, value in top.items():
            if not _close(value, hand[alias].get(key)):
                bad.append(f"{alias}[{key}]: {value} != {hand[alias].get(key)}")
        total = sum(g["value"] or 0 for g in graphql[alias]["breakdown"])
        if not _close(total, sum(hand[alias].values())):
            bad.append(f"{alias} total")
    return bad


async def measure(
    url: str, label: str, deals: int, activities: int, workspaces: int, share: float
) -> list[Measurement]:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        started = time.perf_counter()
        org, ws = await generate(
            engine, deals=deals, activities=activities, workspaces=workspaces, main_share=share
        )
        load_s = time.perf_counter() - started
        async with engine.connect() as conn:
            n = (await conn.execute(text("SELECT COUNT(*) FROM deals"))).scalar()
        timings, data = await run_graphql(engine, org, ws)
        hand_s, hand = await run_hand_written(engine, ws)
        hand_again, _ = await run_hand_written(engine, ws)
        mismatches = compare(data, hand)
        if mismatches:
            raise AssertionError(f"{label}: GraphQL and hand-written SQL differ: {mismatches[:5]}")
        warm = statistics.median(timings[1:])
        notes = (
            f"{n:,} deals ({int(deals * share):,} in the workspace), {activities:,} activities; "
            f"generated in {load_s:.0f}s; numbers identical to the hand-written SQL"
        )
        return [
            Measurement(
                f"dashboard.graphql, {label}, first run",
                timings[0] * 1000,
                "ms",
                hand_s * 1000,
                "hand-written SQL, one statement per KPI and period (first)",
                "",
                notes,
                key="dashboard_ms_cold_pg_1m" if label == "postgresql" else None,
            ),
            Measurement(
                f"dashboard.graphql, {label}, warm (median of {RUNS - 1})",
                warm * 1000,
                "ms",
                hand_again * 1000,
                "hand-written SQL, one statement per KPI and period (warm)",
                "≤ 250 ms and ≤ 1.5x hand-written (PostgreSQL, 1M)",
                notes,
                key="dashboard_ms_sqlite_100k" if label == "sqlite" else f"metrics_{label}_warm_ms",
            ),
            Measurement(
                f"dashboard.graphql / hand-written SQL, {label}, warm",
                warm / hand_again,
                "ratio",
                1.0,
                "hand-written SQL",
                "≤ 1.5",
                f"hand-written SQL warm: {hand_again * 1000:.0f} ms; {notes}",
                key="dashboard_vs_handwritten_ratio" if label == "postgresql" else None,
            ),
        ]
    finally:
        await engine.dispose()


def run(ctx: BenchContext) -> list[Measurement]:
    scale = float(os.environ.get("CRMKPI_BENCH_SCALE", "1"))
    out: list[Measurement] = []
    sqlite_url = f"sqlite+aiosqlite:///{ctx.workdir / 'metrics.db'}"
    out += asyncio.run(
        measure(sqlite_url, "sqlite", int(100_000 * scale), int(300_000 * scale), 1, 1.0)
    )
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        url = cluster.create_database("metrics_bench")
        pg = float(os.environ.get("CRMKPI_BENCH_PG_SCALE", str(scale)))
        out += asyncio.run(
            measure(url, "postgresql", int(1_000_000 * pg), int(3_000_000 * pg), 5, 0.4)
        )
    finally:
        cluster.stop()
    return out
