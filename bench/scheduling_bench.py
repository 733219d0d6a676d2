"""Scheduling benchmark (issue 11): many connections, two ``crmkpi worker`` processes on one
PostgreSQL, a simulator that answers every request after a delay.

Every connection gets a sync job at once (a burst, as when the schedules of an agency's
clients fall due together); the two workers drain the queue. Reported: syncs per minute the
workers sustain (finished runs over the time from the first start to the last finish) and
the queue latency of each job, enqueue to start, from procrastinate's own events
(p50/p95). In a burst the latency is mostly the wait behind the backlog: the p95 is about
the time to drain the queue, which is the number a user waiting for a run sees.

Bounded: the run stops at ``DEADLINE`` seconds even when not every sync ran; the notes say
how many did.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

from bench.harness import BenchContext, Measurement

CONNECTIONS = 1_000
QUICK_CONNECTIONS = 60
WORKERS = 2
CONCURRENCY = 4
LATENCY = "latency=50ms"
DEADLINE = 240.0
QUICK_DEADLINE = 60.0
DEALS = 20


async def _setup(url: str, base_url: str, key: str, count: int) -> list[str]:
    from core.db import create_engine, create_sessionmaker
    from core.migrate import upgrade
    from core.models import Connection, Organization, Workspace
    from core.secrets import Vault
    from tests.plugins.testcrm.connector import TestCrmConnector

    engine = create_engine(url)
    try:
        await upgrade(engine)
        vault = Vault([key])
        async with create_sessionmaker(engine)() as session:
            org = Organization(name="Agency")
            session.add(org)
            await session.flush()
            ws = Workspace(organization_id=org.id, name="Clients")
            session.add(ws)
            await session.flush()
            secret = vault.encrypt(TestCrmConnector.simulator_credentials())
            rows = [
                Connection(
                    workspace_id=ws.id,
                    connector="testcrm",
                    base_url=base_url,
                    credentials_encrypted=secret,
                )
                for _ in range(count)
            ]
            session.add_all(rows)
            await session.commit()
            return [r.id for r in rows]
    finally:
        await engine.dispose()


async def _enqueue(url: str, key: str, ids: list[str]) -> None:
    from core.settings import Settings
    from core.sync.worker import create_queue, defer_sync

    app = create_queue(Settings(database_url=url, secret_keys=key))
    async with app.open_async():
        for connection_id in ids:
            await defer_sync(app, connection_id)


async def _count(url: str, sql: str) -> int:
    from sqlalchemy import text

    from core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text(sql)) or 0)
    finally:
        await engine.dispose()


FINISHED = "SELECT count(*) FROM sync_runs WHERE status <> 'RUNNING'"
#: Workers register (and heartbeat) in this table once they are ready to take jobs.
WORKERS_READY = "SELECT count(*) FROM procrastinate_workers"


async def _results(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    from core.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            runs = (
                await conn.execute(
                    text(
                        "SELECT count(*), min(started_at), max(finished_at), "
                        "count(*) FILTER (WHERE status = 'SUCCEEDED') "
                        "FROM sync_runs WHERE status <> 'RUNNING'"
                    )
                )
            ).one()
            waits = (
                await conn.execute(
                    text(
                        "SELECT extract(epoch FROM s.at - d.at) FROM procrastinate_events d "
                        "JOIN procrastinate_events s ON s.job_id = d.job_id "
                        "AND s.type = 'started' JOIN procrastinate_jobs j ON j.id = d.job_id "
                        "WHERE d.type = 'deferred' AND j.task_name = 'crmkpi.sync_connection'"
                    )
                )
            ).all()
            overlaps = await conn.scalar(
                text(
                    "SELECT count(*) FROM sync_runs a JOIN sync_runs b "
                    "ON a.connection_id = b.connection_id AND a.id < b.id "
                    "AND b.started_at < a.finished_at"
                )
            )
    finally:
        await engine.dispose()
    finished, first, last, succeeded = runs
    span = (last - first).total_seconds() if first and last else 0.0
    latencies = sorted(float(w) for (w,) in waits)
    return {
        "finished": int(finished),
        "succeeded": int(succeeded),
        "span": span,
        "latencies": latencies,
        "overlaps": int(overlaps or 0),
    }


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def _workers(url: str, key: str) -> list[subprocess.Popen[bytes]]:
    from bench.sync_bench import ROOT, _env

    env = {
        **_env(),
        "CRMKPI_DATABASE_URL": url,
        "CRMKPI_SECRET_KEYS": key,
        "CRMKPI_PLUGINS": "tests.plugins.testcrm",
    }
    return [
        subprocess.Popen(
            [sys.executable, "-m", "api.cli", "worker", "--concurrency", str(CONCURRENCY)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(WORKERS)
    ]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=70)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(ctx: BenchContext) -> list[Measurement]:
    from cryptography.fernet import Fernet

    from bench.sync_bench import simulator
    from tests.support.postgres import start_cluster

    count = QUICK_CONNECTIONS if ctx.quick else CONNECTIONS
    deadline = QUICK_DEADLINE if ctx.quick else DEADLINE
    key = Fernet.generate_key().decode()
    cluster = ctx.extra.get("pg_cluster") or start_cluster()
    try:
        url = cluster.create_database(f"scheduling_{count}")
        with simulator(DEALS, "testcrm", faults=LATENCY) as base_url:
            ids = asyncio.run(_setup(url, base_url, key, count))
            procs = _workers(url, key)
            try:
                # Start-up (imports, connections) is not queue latency: enqueue once ready.
                ready_by = time.monotonic() + 120
                while asyncio.run(_count(url, WORKERS_READY)) < WORKERS:
                    if time.monotonic() > ready_by:
                        raise RuntimeError("the workers did not start within 120 s")
                    time.sleep(0.5)
                asyncio.run(_enqueue(url, key, ids))
                until = time.monotonic() + deadline
                while time.monotonic() < until and asyncio.run(_count(url, FINISHED)) < count:
                    time.sleep(1.0)
            finally:
                _stop(procs)
            report = asyncio.run(_results(url))
    finally:
        if "pg_cluster" not in ctx.extra:
            cluster.stop()
    per_minute = 60 * report["finished"] / report["span"] if report["span"] else None
    latencies = report["latencies"]
    notes = (
        f"{count:,} connections queued at once, {WORKERS} worker processes x {CONCURRENCY} "
        f"syncs each, one PostgreSQL, test CRM simulator with {DEALS} deals per account and "
        f"50 ms before every answer; {report['finished']:,} runs finished "
        f"({report['succeeded']:,} SUCCEEDED) in {report['span']:.0f}s (bounded at "
        f"{deadline:.0f}s); runs of one connection overlapping: {report['overlaps']}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return [
        Measurement(
            "syncs per minute, 2 workers",
            per_minute,
            "syncs/min",
            notes=notes,
            key="scheduling_syncs_per_minute",
        ),
        Measurement(
            "queue latency (enqueue -> start), p50",
            _percentile(latencies, 0.5),
            "s",
            notes=(
                f"{len(latencies):,} jobs started (those not started by the deadline are not "
                f"counted); burst of {count:,}: mostly the wait behind the backlog"
            ),
            key="scheduling_queue_latency_p50_s",
        ),
        Measurement(
            "queue latency (enqueue -> start), p95",
            _percentile(latencies, 0.95),
            "s",
            notes="about the time to drain the burst",
            key="scheduling_queue_latency_p95_s",
        ),
    ]
