"""Sync benchmark: the test CRM simulator -> the engine -> SQLite and PostgreSQL.

For each dataset size (50k and 200k raw records) and backend, a fresh database is
migrated and a connection created; the sync then runs in its own process (so its peak RSS
is its own: ``ru_maxrss`` of that process, reported by it at exit) against the simulator
served by uvicorn in another process, over real HTTP. Reported: records/s end to end
(raw CRM records fetched / wall time of ``run_sync``) and peak RSS, 50k next to 200k to
show memory does not grow with the dataset.

Runnable alone: ``python -m bench.sync_bench [--quick]``; the connectors' lines alone:
``python -m bench.sync_bench connectors [--quick] [hubspot|pipedrive|salesforce ...]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the sync child imports no more than a syncing process needs
    from bench.harness import BenchContext, Measurement

#: Raw records per dataset of N deals: 10 users + 2 pipelines + N/4 accounts + N/2 contacts
#: + N deals + N activities + 6 FX rates (deals also yield 1-2 stage-history rows each).
RECORDS_PER_DEAL = 2.75
SIZES = (50_000, 200_000)
QUICK_SIZES = (5_000, 20_000)
#: Deals of the shared simulated business served by each CRM's simulator (about 6.5 raw
#: records per deal with contacts, companies, activities and associations).
CONNECTORS = ("hubspot", "pipedrive", "salesforce")
CONNECTOR_DEALS = 10_000
QUICK_CONNECTOR_DEALS = 1_000
#: Plugin module of each benchmarked connector (the test CRM is the engine's own benchmark).
PLUGINS = {
    "testcrm": "tests.plugins.testcrm",
    "hubspot": "connectors.hubspot",
    "pipedrive": "connectors.pipedrive",
    "salesforce": "connectors.salesforce",
}
ROOT = Path(__file__).resolve().parents[1]


def plugin_manager(connector: str) -> Any:
    """A plugin manager with the one connector benchmarked."""
    import importlib

    from core.plugins import create_plugin_manager

    module = importlib.import_module(PLUGINS[connector])
    return create_plugin_manager(load_entrypoints=False, plugins=[module])


def unlimited() -> Any:
    """Limiters that let every request through at once.

    The bench measures the engine, not the CRM's allowance: HubSpot's 100 requests per 10 s
    alone would cap a sync at 1,000 records/s (100-record pages). The limiter's own cost
    stays in the measurement (it is still called for every request).
    """
    from core.sync.connector import RateLimitPolicy
    from core.sync.ratelimit import RateLimiter, RateLimiters

    class Unlimited(RateLimiters):
        def get(self, account_key: str, policy: RateLimitPolicy, engine: Any = None) -> RateLimiter:
            # The engine is passed on: on PostgreSQL the windows are shared through the
            # database as in production, and that cost is part of the measurement.
            unlimited = RateLimitPolicy(requests=10**9, per_seconds=1.0)
            return super().get(account_key, unlimited, engine)

    return Unlimited()


def deals_for(records: int) -> int:
    return round(records / RECORDS_PER_DEAL)


def peak_rss_mb() -> float:
    """This process's peak RSS since its exec (VmHWM). ``ru_maxrss`` is not used: Linux keeps
    it across exec, so a child forked from a large parent starts at the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env() -> dict[str, str]:
    """A child's environment (simulator, sync, probe), the project's bytecode written first."""
    compile_project()
    return {**os.environ, "PYTHONPATH": str(ROOT), "CRMKPI_LOG_LEVEL": "WARNING"}


#: The project's packages a bench child imports.
PACKAGES = ("core", "connectors", "api", "bench", "tests")


@functools.cache
def compile_project() -> None:
    """Write the project's bytecode (``__pycache__``) once, before any child starts.

    Why: an installed crmkpi has its bytecode (pip compiles a wheel's modules when it
    installs them), and so has the peer tap in its own venv. A checkout run with
    ``PYTHONDONTWRITEBYTECODE=1``, as the sessions that run the bench are, has none, so
    every sync child compiled its hundred-odd modules from source again: 40-80 ms of CPU
    counted against each measured sync that no deployed process spends. compileall
    writes regardless of that setting, and skips what is already up to date.
    """
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)


@contextlib.contextmanager
def simulator(
    deals: int, connector: str = "testcrm", *, peer: str | None = None, faults: str = ""
) -> Iterator[str]:
    """The connector's simulator in its own process; yields its base URL. ``peer`` names
    the tap whose extra endpoints it also answers: "singer-io" (bench.peer_tap) or
    "meltano" (bench.peer_meltano); ``faults`` is a core.simulation.faults spec
    (``latency=50ms``)."""
    port = _free_port()
    argv = ["serve", str(deals), str(port), connector] + ([peer] if peer else [])
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.sync_bench", *argv],
        env={**_env(), "CRMKPI_BENCH_FAULTS": faults},
        cwd=ROOT,
    )
    # 200k records are encoded before it listens
    with listening(process, port, start_timeout=600) as base_url:
        yield base_url


@contextlib.contextmanager
def listening(process: subprocess.Popen[Any], port: int, start_timeout: float) -> Iterator[str]:
    """A server ``process`` started by the caller, once it accepts connections on
    ``port`` (localhost); yields its base URL and terminates it at the end."""
    try:
        deadline = time.monotonic() + start_timeout
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


async def _prepare(database_url: str, base_url: str, key: str, connector: str) -> str:
    """Migrate, create a workspace and a connection to the simulator; return its id."""
    from core.db import create_engine, create_sessionmaker
    from core.migrate import upgrade
    from core.models import Organization
    from core.organizations import create_organization, create_workspace
    from core.plugins import connector_classes
    from core.secrets import Vault
    from core.sync.connections import create_connection

    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        pm = plugin_manager(connector)
        async with create_sessionmaker(engine)() as session:
            org: Organization = await create_organization(session, "Bench")
            ws = await create_workspace(session, organization_id=org.id, name="Bench")
            cls = connector_classes(pm)[connector]
            connection = await create_connection(
                session,
                Vault([key]),
                connector_classes(pm),
                workspace_id=ws.id,
                connector=connector,
                credentials=cls.simulator_credentials(),
                base_url=base_url,
            )
            await session.commit()
            return connection.id
    finally:
        await engine.dispose()


async def _sync(
    database_url: str, connection_id: str, key: str, connector: str = "testcrm", streams: str = ""
) -> dict[str, Any]:
    from core.db import create_engine
    from core.models.enums import SyncMode
    from core.secrets import Vault
    from core.sync.runner import SyncOptions, run_sync

    engine = create_engine(database_url)
    pm = plugin_manager(connector)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = await run_sync(
            connection_id,
            engine=engine,
            pm=pm,
            vault=Vault([key]),
            options=SyncOptions(
                mode=SyncMode.FULL, limiters=unlimited(), streams=streams.split(",") or None
            )
            if streams
            else SyncOptions(mode=SyncMode.FULL, limiters=unlimited()),
        )
        seconds = time.perf_counter() - started
        sync_cpu = time.process_time() - cpu_started
    finally:
        await engine.dispose()
    rows = sum(s.inserted + s.updated for s in result.stats.streams.values())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "status": result.status.value,
        "records": result.records,
        "rows": rows,
        "seconds": seconds,
        "requests": result.stats.requests,
        "peak_rss_mb": peak_rss_mb(),
        #: CPU of run_sync alone (the process's start and imports are not the engine's).
        "cpu_seconds": sync_cpu,
        "process_cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_average": os.getloadavg()[0],
    }


def measure(
    database_url: str, base_url: str, connector: str = "testcrm", streams: str = ""
) -> dict[str, Any]:
    """One full sync in a child process; its own report (records, seconds, peak RSS)."""
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    connection_id = asyncio.run(_prepare(database_url, base_url, key, connector))
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.sync_bench",
            "sync",
            database_url,
            connection_id,
            key,
            connector,
            streams,
        ],
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the sync child failed ({done.returncode}): {done.stderr[-3000:]}")
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_seconds"] = time.perf_counter() - started  # with start-up and imports
    return report


def run(ctx: BenchContext) -> list[Measurement]:
    from bench.harness import Measurement
    from tests.support.postgres import start_cluster

    sizes = QUICK_SIZES if ctx.quick else SIZES
    cluster = ctx.extra.get("pg_cluster") or start_cluster()
    results: list[Measurement] = []
    try:
        for size in sizes:
            with simulator(deals_for(size)) as base_url:
                for backend in ("sqlite", "postgresql"):
                    name = f"sync_{backend}_{size // 1000}k"
                    if backend == "sqlite":
                        url = f"sqlite+aiosqlite:///{ctx.workdir / (name + '.db')}"
                    else:
                        url = cluster.create_database(name)
                    report = measure(url, base_url)
                    print(f"   {name}: {report}", flush=True)
                    rate = report["records"] / report["seconds"]
                    largest = size == sizes[-1]
                    short = "postgres" if backend == "postgresql" else backend
                    notes = (
                        f"{report['records']:,} records ({report['rows']:,} rows) in "
                        f"{report['seconds']:.1f}s, {report['requests']:,} requests, "
                        f"status {report['status']}; machine load average "
                        f"{report['load_average']:.1f} on {os.cpu_count()} cores"
                    )
                    results.append(
                        Measurement(
                            f"sync {size // 1000}k records into {backend}",
                            rate,
                            "records/s",
                            target=">= 10,000 records/s (PostgreSQL)",
                            notes=notes,
                            key=f"sync_records_per_s_{short}"
                            if largest
                            else f"{name}_records_per_s",
                        )
                    )
                    results.append(
                        Measurement(
                            f"sync {size // 1000}k records into {backend}: per CPU-second",
                            report["records"] / report["cpu_seconds"],
                            "records/CPU-s",
                            target="(engine cost, less sensitive to a shared machine)",
                            notes=(
                                f"{report['cpu_seconds']:.1f} CPU-s of the syncing process in "
                                "run_sync (the simulator and PostgreSQL run in other processes)"
                            ),
                            key=f"{name}_records_per_cpu_s",
                        )
                    )
                    results.append(
                        Measurement(
                            f"sync {size // 1000}k records into {backend}: peak RSS",
                            report["peak_rss_mb"],
                            "MB",
                            target="< 300 MB, flat in dataset size",
                            notes="RSS of the syncing process",
                            key="sync_peak_rss_mb"
                            if largest and short == "postgres"
                            else f"{name}_peak_rss_mb",
                        )
                    )
        results += connector_measurements(ctx, cluster)
        from bench import sync_phases

        deals = QUICK_CONNECTOR_DEALS if ctx.quick else CONNECTOR_DEALS
        results += sync_phases.run(ctx, cluster, deals)
    finally:
        if "pg_cluster" not in ctx.extra:
            cluster.stop()
    return results


def connector_measurements(
    ctx: BenchContext, cluster: Any, connectors: tuple[str, ...] = CONNECTORS
) -> list[Measurement]:
    """Each CRM's simulator -> its connector -> PostgreSQL: records/s and peak RSS."""
    from bench.harness import Measurement

    deals = QUICK_CONNECTOR_DEALS if ctx.quick else CONNECTOR_DEALS
    results: list[Measurement] = []
    for connector in connectors:
        with simulator(deals, connector) as base_url:
            url = cluster.create_database(f"sync_{connector}_{deals}")
            report = measure(url, base_url, connector)
        print(f"   {connector}: {report}", flush=True)
        notes = (
            f"{deals:,} deals: {report['records']:,} records ({report['rows']:,} rows) in "
            f"{report['seconds']:.1f}s, {report['requests']:,} requests, status "
            f"{report['status']}, {report['cpu_seconds']:.1f} CPU-s; rate limiter lifted "
            f"(engine speed, not the CRM's allowance); load average {report['load_average']:.1f}"
        )
        results += [
            Measurement(
                f"{connector} sync into postgresql",
                report["records"] / report["seconds"],
                "records/s",
                target=">= 10,000 records/s (PostgreSQL)",
                notes=notes,
                key=f"sync_{connector}_records_per_s_postgres",
            ),
            Measurement(
                f"{connector} sync into postgresql: peak RSS",
                report["peak_rss_mb"],
                "MB",
                target="< 300 MB",
                notes="RSS of the syncing process",
                key=f"sync_{connector}_peak_rss_mb",
            ),
        ]
    return results


def _main(argv: list[str]) -> None:
    if argv and argv[0] == "serve":
        import uvicorn

        from core.plugins import connector_classes
        from core.simulation.options import SimulatorOptions

        connector = argv[3] if len(argv) > 3 else "testcrm"
        cls = connector_classes(plugin_manager(connector))[connector]
        faults = os.environ.get("CRMKPI_BENCH_FAULTS") or None
        app = cls.simulator(SimulatorOptions(seed=1, deals=int(argv[1]), faults=faults))
        assert app is not None, f"{connector} has no simulator"
        if argv[4:] == ["singer-io"]:
            from bench.peer_tap import properties_app

            app = properties_app(app)
        elif argv[4:] == ["meltano"]:
            from bench.peer_meltano import meltano_app

            app = meltano_app(app)
        uvicorn.run(app, host="127.0.0.1", port=int(argv[2]), log_level="warning", access_log=False)
    elif argv and argv[0] == "sync":
        from core.startup import quiet_imports

        with quiet_imports():  # the start-up of `crmkpi sync` (api.cli)
            import core.sync.runner  # noqa: F401

            plugin_manager(argv[4] if len(argv) > 4 else "testcrm")
        from core import eventloop  # the loop `crmkpi sync` runs on

        print(json.dumps(eventloop.run(_sync(*argv[1:6]))))
    elif argv and argv[0] == "connectors":
        _connectors_only([a for a in argv[1:] if a != "--quick"] or list(CONNECTORS), argv)
    else:
        from bench.harness import BenchContext, write_results

        with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
            ctx = BenchContext(workdir=Path(tmp), quick="--quick" in argv)
            measurements = run(ctx)
        for m in measurements:
            print(f"{m.name}: {m.value:,.1f} {m.unit}  {m.notes}")
        if "--write" in argv:
            write_results({"sync": measurements}, {})


def _connectors_only(connectors: list[str], argv: list[str]) -> None:
    """``python -m bench.sync_bench connectors [--quick] [pipedrive ...]``: the connector
    lines alone (one CRM's measurement without the 50k/200k runs), printed, not written."""
    from bench.harness import BenchContext
    from tests.support.postgres import start_cluster

    unknown = sorted(set(connectors) - set(CONNECTORS))
    if unknown:
        raise SystemExit(f"unknown connector(s): {', '.join(unknown)}; known: {CONNECTORS}")
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
            ctx = BenchContext(workdir=Path(tmp), quick="--quick" in argv)
            measurements = connector_measurements(ctx, cluster, tuple(connectors))
    finally:
        cluster.stop()
    for m in measurements:
        print(f"{m.name}: {m.value:,.1f} {m.unit}  {m.notes}")


if __name__ == "__main__":
    _main(sys.argv[1:])
