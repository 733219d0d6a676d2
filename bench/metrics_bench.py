"""Metrics benchmark: the dashboard query of bench/dashboard.graphql through GraphQL, against
the same numbers computed by hand-written SQL on the product's own schema.

Two baselines, every value of both checked equal to the product's: on PostgreSQL the
strongest, one-pass SQL (bench/metrics_onepass.py: one conditional-aggregate pass per table,
both periods in one scan, range aggregates per series bucket), timed interleaved with the
product in the same run, cold and warm; and, as a second labelled line, the naive one
statement per KPI and period (the only baseline on SQLite).

SQLite: 100k deals and 300k activities in one workspace. PostgreSQL: 10k, 100k and 1M deals
(40% in the measured workspace) with three activities per deal over five workspaces, for the
latency growth; the 1M run gives the results.json keys. Each size is timed cold (the first
query after start-up: a new engine, its pool warmed as a served app's; nothing cached),
uncached (the result cache bypassed: what the ratio to the hand-written SQL uses) and
cached. ``CRMKPI_BENCH_SCALE`` (e.g. 0.1) shrinks every size for a
quick run (the keys are then not written); ``CRMKPI_BENCH_PG_SCALE`` shrinks only PostgreSQL.
Every GraphQL number is checked against the hand-written SQL before timings are reported.
"""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from api.context import Context
from api.response_cache import ResponseCache
from api.schema import create_schema
from api.session import WARM_CONNECTIONS, SerialSession, warm_pool
from bench.harness import BenchContext, Measurement
from bench.metrics_data import generate
from bench.metrics_onepass import run_one_pass
from core.db import create_engine, create_sessionmaker
from core.metrics.cache import LruStore
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
#: The dashboard without the lifecycle KPIs: what the hand-written SQL computes, so the ratio
#: to it compares the same work.
QUERY_CORE = "\n".join(
    line for line in QUERY.splitlines() if not any(f"    {n}(" in line for n in LIFECYCLE)
)
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


@contextmanager
def result_caches(enabled: bool) -> Iterator[None]:
    """The metrics result cache and the kept answers (api.response_cache) as they are, or
    both bypassed (every run computes every number and executes the whole query)."""
    if enabled:
        yield
        return
    with (
        patch.object(LruStore, "get", lambda self, key: None),
        patch.object(ResponseCache, "get", lambda self, key: None),
    ):
        yield


def _new_schema() -> Any:
    return create_schema(Settings(graphql_max_tokens=100_000, graphql_max_aliases=100))


#: The process's schema, as a served app has one (api.app): made once, on first use.
_schema = functools.cache(_new_schema)


async def run_graphql(
    engine: AsyncEngine,
    org: str,
    ws: str,
    *,
    runs: int = RUNS,
    cached: bool = False,
    query: str = QUERY,
    fresh: bool = False,
) -> tuple[list[float], dict[str, Any]]:
    """``runs`` timings of the dashboard query; ``cached``: with the result cache on;
    ``fresh``: on a schema of its own (a new app's first query) instead of the process's
    one, whose parsed and validated query strawberry keeps, as a served app's does."""
    schema = _new_schema() if fresh else _schema()
    sessionmaker = create_sessionmaker(engine)
    viewer = Viewer("bench", org, Role.VIEWER, frozenset({ws}))
    timings: list[float] = []
    data: dict[str, Any] = {}
    for _ in range(runs):
        async with sessionmaker() as session:
            context = Context(
                session=SerialSession(session, readers=sessionmaker),
                sessionmaker=sessionmaker,
                settings=Settings(),
                plugins=create_plugin_manager(load_entrypoints=False),
                viewer=viewer,
            )
            with result_caches(cached):
                started = time.perf_counter()
                result = await schema.execute(
                    query, variable_values={"ws": ws}, context_value=context
                )
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


@dataclass
class Timed:
    """One database's dashboard timings (seconds) and its hand-written baseline."""

    deals: int
    cold: float
    uncached: float
    cached: float
    hand: float
    notes: str
    #: One-pass SQL (PostgreSQL only): cold (first run on new connections), warm median with
    #: its statements on parallel connections (as the product's fetcher), and on one.
    one_cold: float | None = None
    one_pass: float | None = None
    one_serial: float | None = None
    #: The product on the dashboard less its lifecycle KPIs (what the one-pass SQL computes).
    uncached_core: float | None = None
    #: The product's first run on new connections (no pool warm-up).
    cold_new: float | None = None


#: Statements of the one-pass SQL, each on a connection of its own.
ONE_PASS_CONNECTIONS = 7
#: First queries of new engines timed per size (median kept).
COLD_RUNS = 3


async def _cold(url: str, org: str, ws: str, *, warm: int) -> tuple[float, dict[str, Any]]:
    """The dashboard's first run on a new engine whose pool has ``warm`` connections open."""
    engine = create_engine(url)
    try:
        await warm_pool(engine, warm)
        (took,), data = await run_graphql(engine, org, ws, runs=1, fresh=True)
        return took, data
    finally:
        await engine.dispose()


async def time_dashboard(
    url: str, label: str, deals: int, activities: int, workspaces: int, share: float
) -> Timed:
    """Generate, run the dashboard cold, uncached (median) and cached (median), check every
    number against the hand-written SQL, and time that SQL."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        started = time.perf_counter()
        org, ws = await generate(
            engine, deals=deals, activities=activities, workspaces=workspaces, main_share=share
        )
        load_s = time.perf_counter() - started
        async with engine.connect() as conn:
            n = (await conn.execute(text("SELECT COUNT(*) FROM deals"))).scalar() or 0
        # Cold: the first query of a new engine (a started app), nothing in the result
        # cache, its pool warmed as a served app's lifespan does (api.session.warm_pool: the
        # connections open, nothing compiled or prepared; a schema of its own). Then the
        # same on new connections (no warm-up), for the notes; then the one-pass SQL's first
        # run on an engine of its own warmed alike. Each is one sample, so the three are
        # taken COLD_RUNS times, interleaved, and the medians kept: one sample right after
        # the data's load moved between 173 and 309 ms from run to run. Then the cache
        # bypassed, the product and the baselines interleaved run by run; then cached
        # answers (the cache is keyed by the minute: the median is of hits).
        one_pass = engine.dialect.name == "postgresql"
        colds: list[float] = []
        colds_new: list[float] = []
        one_colds: list[float] = []
        for _ in range(COLD_RUNS):
            took, data = await _cold(url, org, ws, warm=WARM_CONNECTIONS)
            colds.append(took)
            colds_new.append((await _cold(url, org, ws, warm=0))[0])
            if one_pass:
                fresh = create_engine(url)
                try:
                    await warm_pool(fresh, ONE_PASS_CONNECTIONS)
                    took, one = await run_one_pass(fresh, ws, SERIES)
                    one_colds.append(took)
                finally:
                    await fresh.dispose()
                mismatches = compare(data, one)
                if mismatches:
                    raise AssertionError(
                        f"{label}: GraphQL and one-pass SQL differ: {mismatches[:5]}"
                    )
        cold = statistics.median(colds)
        cold_new = statistics.median(colds_new)
        one_cold = statistics.median(one_colds) if one_colds else None
        uncached: list[float] = []
        hand_runs: list[float] = []
        one_runs: list[float] = []
        serial_runs: list[float] = []
        core_runs: list[float] = []
        _, hand = await run_hand_written(engine, ws)
        for _ in range(RUNS - 1):
            uncached += (await run_graphql(engine, org, ws, runs=1))[0]
            if one_pass:
                core_runs += (await run_graphql(engine, org, ws, runs=1, query=QUERY_CORE))[0]
                one_runs.append((await run_one_pass(engine, ws, SERIES))[0])
                serial_runs.append((await run_one_pass(engine, ws, SERIES, parallel=False))[0])
            hand_runs.append((await run_hand_written(engine, ws))[0])
        await run_graphql(engine, org, ws, runs=1, cached=True)
        cached, _ = await run_graphql(engine, org, ws, runs=RUNS, cached=True)
        mismatches = compare(data, hand)
        if mismatches:
            raise AssertionError(f"{label}: GraphQL and hand-written SQL differ: {mismatches[:5]}")
        notes = (
            f"{n:,} deals ({int(deals * share):,} in the workspace), {activities:,} activities; "
            f"generated in {load_s:.0f}s; numbers identical to the hand-written SQL"
            + (" (one-pass and per KPI)" if one_pass else "")
        )
        return Timed(
            n,
            cold,
            statistics.median(uncached),
            statistics.median(cached),
            statistics.median(hand_runs),
            notes,
            one_cold,
            statistics.median(one_runs) if one_runs else None,
            statistics.median(serial_runs) if serial_runs else None,
            statistics.median(core_runs) if core_runs else None,
            cold_new,
        )
    finally:
        await engine.dispose()


def measurements(label: str, t: Timed, *, full: bool) -> list[Measurement]:
    """Rows of one database; the results.json keys only at the full sizes they name.

    On PostgreSQL the baseline of the dashboard rows is the one-pass SQL (the bar to beat);
    the naive one-statement-per-KPI SQL stays as a second, labelled line.
    """
    pg = label == "postgresql"
    naive_name = "naive hand-written SQL, one statement per KPI and period (median)"
    base, base_cold, base_name = t.hand, t.hand, naive_name
    if t.one_pass is not None and t.one_cold is not None:
        base, base_cold = t.one_pass, t.one_cold
        base_name = "one-pass hand-written SQL (bench/metrics_onepass.py)"
    out = [
        Measurement(
            f"dashboard.graphql, {label}, cold (first query after start-up, nothing cached; "
            f"median of {COLD_RUNS} new engines)",
            t.cold * 1000,
            "ms",
            base_cold * 1000,
            base_name + (", cold (first run, its pool warmed alike)" if pg else ""),
            "≤ 250 ms (PostgreSQL, 1M)" if pg else "",
            f"the pool's connections opened first, as a served app's lifespan does "
            f"(api.session.warm_pool), nothing compiled or cached; on new connections instead: "
            f"{(t.cold_new or 0) * 1000:.0f} ms; {t.notes}",
            key="dashboard_ms_cold_pg_1m" if pg and full else None,
        ),
        Measurement(
            f"dashboard.graphql, {label}, uncached (median of {RUNS - 1}, result cache bypassed)",
            t.uncached * 1000,
            "ms",
            base * 1000,
            base_name + (", warm, interleaved run by run" if pg else ""),
            "",
            t.notes,
            key="dashboard_ms_sqlite_100k" if not pg and full else None,
        ),
        Measurement(
            f"dashboard.graphql, {label}, cached (median of {RUNS})",
            t.cached * 1000,
            "ms",
            base * 1000,
            base_name,
            "≤ 10 ms (PostgreSQL, 1M)" if pg else "",
            t.notes,
            key="dashboard_ms_cached_pg_1m" if pg and full else None,
        ),
    ]
    if t.one_pass is not None and t.one_serial is not None and t.one_cold is not None:
        out += [
            Measurement(
                f"one-pass hand-written SQL, {label}",
                t.one_pass * 1000,
                "ms",
                t.one_serial * 1000,
                "the same statements one after another on one connection",
                "",
                f"7 statements on parallel connections, median of {RUNS - 1} warm runs "
                f"interleaved with the product's; cold (first run, its pool warmed): "
                f"{t.one_cold * 1000:.0f} ms",
                key="onepass_sql_ms_pg_1m" if pg and full else None,
            ),
            Measurement(
                f"dashboard.graphql uncached / one-pass hand-written SQL, {label}",
                (t.uncached_core or t.uncached) / t.one_pass,
                "ratio",
                1.0,
                "one-pass hand-written SQL",
                "≤ 1.5",
                f"the same KPIs on both sides: the product on the dashboard less churn, retention "
                f"and MRR ({(t.uncached_core or 0) * 1000:.0f} ms; with them "
                f"{t.uncached * 1000:.0f} ms = {t.uncached / t.one_pass:.2f}x) against one-pass "
                f"SQL {t.one_pass * 1000:.0f} ms warm; cold, whole dashboard: product "
                f"{t.cold * 1000:.0f} ms / one-pass {t.one_cold * 1000:.0f} ms = "
                f"{t.cold / t.one_cold:.2f}; {t.notes}",
                key="dashboard_vs_onepass_ratio" if pg and full else None,
            ),
        ]
    out += [
        Measurement(
            f"naive hand-written SQL, {label}",
            t.hand * 1000,
            "ms",
            None,
            "",
            "",
            "78 statements (one per KPI and period, series point and breakdown), one "
            "connection, median of runs",
            key="handwritten_sql_ms_pg_1m" if pg and full else None,
        ),
        Measurement(
            f"dashboard.graphql uncached / naive hand-written SQL, {label}",
            t.uncached / t.hand,
            "ratio",
            1.0,
            "naive hand-written SQL",
            "",
            f"naive SQL: {t.hand * 1000:.0f} ms; {t.notes}",
            key="dashboard_vs_handwritten_ratio" if pg and full else None,
        ),
    ]
    return out


def growth(points: list[Timed]) -> list[Measurement]:
    """How the uncached dashboard latency grows with the data (PostgreSQL)."""
    out = []
    first = points[0]
    for t in points:
        out.append(
            Measurement(
                f"dashboard.graphql, postgresql, {t.deals:,} deals, uncached",
                t.uncached * 1000,
                "ms",
                (t.one_pass if t.one_pass is not None else t.hand) * 1000,
                "one-pass hand-written SQL at that size",
                "",
                f"{t.uncached / first.uncached:.1f}x the time of {first.deals:,} deals for "
                f"{t.deals / first.deals:.0f}x the deals; {t.notes}",
            )
        )
    return out


def run(ctx: BenchContext) -> list[Measurement]:
    scale = float(os.environ.get("CRMKPI_BENCH_SCALE", "1"))
    pg_scale = float(os.environ.get("CRMKPI_BENCH_PG_SCALE", str(scale)))
    out: list[Measurement] = []
    sqlite_url = f"sqlite+aiosqlite:///{ctx.workdir / 'metrics.db'}"
    lite = asyncio.run(
        time_dashboard(sqlite_url, "sqlite", int(100_000 * scale), int(300_000 * scale), 1, 1.0)
    )
    out += measurements("sqlite", lite, full=scale == 1)
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        points = []
        # Latency growth 10k -> 100k -> 1M deals (3 activities per deal, five workspaces).
        for i, deals in enumerate((10_000, 100_000, 1_000_000)):
            url = cluster.create_database(f"metrics_bench_{i}")
            n = int(deals * pg_scale)
            points.append(asyncio.run(time_dashboard(url, "postgresql", n, 3 * n, 5, 0.4)))
            if i < 2:
                cluster.psql(f'DROP DATABASE "metrics_bench_{i}"')
        out += measurements("postgresql", points[-1], full=pg_scale == 1)
        out += growth(points)
    finally:
        cluster.stop()
    return out
