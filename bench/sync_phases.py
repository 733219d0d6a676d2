"""Where a sync's time goes: HTTP, JSON decoding, mapping, database, event loop, waiting.

One full sync runs in its own process (the simulator and PostgreSQL run in others, so what
is measured is the syncing process alone) with a CPU-time sampler (``SIGPROF`` every
millisecond of CPU): a sample goes to the phase of the innermost frame whose file belongs
to one. Wall time minus CPU time is the time spent waiting for the simulator and the
database. A sampler was chosen over cProfile, whose per-call cost inflated small, often
called functions several-fold (it put a third of the CPU in the text check, whose real cost
is a few percent), and over a sampling thread, whose samples fall where the main thread
releases the GIL (socket writes) instead of where the CPU goes.

Runnable alone: ``python -m bench.sync_phases [--quick] [connector]`` (PostgreSQL,
connector hubspot).
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections import Counter
from types import FrameType
from typing import Any

from bench.harness import BenchContext, Measurement

PHASES = ("http", "json", "mapping", "database", "event loop", "other")

#: Path fragments of each phase, first match wins (checked in this order).
_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("json", ("/json/", "orjson")),
    (
        "http",
        (
            "/httpx/",
            "/httpcore/",
            "/h11/",
            "/anyio/",
            "/sniffio/",
            "/idna/",
            "/ssl.py",
            "/socket.py",
            "/http/",
            "/email/",
            "/urllib/",
            "core/sync/http.py",
            "core/sync/ratelimit.py",
            "/client.py",
            "/tenacity/",
        ),
    ),
    (
        "mapping",
        (
            "/connectors/",
            "tests/plugins/",
            "core/sync/streams.py",
            "core/sync/mappings.py",
            "core/sync/textcheck.py",
            "core/sync/records.py",
            "core/sync/connector.py",
            "core/sync/pagination.py",
            "_strptime.py",
            "_pydecimal.py",
            "/dateutil/",
            "/zoneinfo/",
        ),
    ),
    (
        "database",
        (
            "/sqlalchemy/",
            "/asyncpg/",
            "/aiosqlite/",
            "/sqlite3/",
            "core/sync/upsert.py",
            "core/sync/pgcopy.py",
            "core/sync/batches.py",
            "core/sync/sqlitebulk.py",
            "core/sync/state.py",
            "core/sync/runs.py",
            "core/db.py",
        ),
    ),
    ("event loop", ("/asyncio/", "selectors.py", "/uvloop/")),
)


def phase_of_file(filename: str) -> str | None:
    """The phase of code in ``filename``; None for C functions (no file)."""
    if filename == "~" or filename.startswith("<"):
        return None
    for phase, fragments in _RULES:
        if any(fragment in filename for fragment in fragments):
            return phase
    return "other"


#: (file, function) whose own time is JSON decoding: orjson is C code without frames of its
#: own, so its time lands in the Python function that called it.
_JSON_CALLERS = (("core/sync/http.py", "loads"), ("core/sync/http.py", "_loads"))


def phase_of_stack(frame: FrameType | None) -> str:
    """The phase of a sampled stack: that of its innermost frame in a known file."""
    while frame is not None:
        code = frame.f_code
        if any(code.co_filename.endswith(f) and code.co_name == n for f, n in _JSON_CALLERS):
            return "json"
        phase = phase_of_file(code.co_filename)
        if phase not in (None, "other"):
            return phase or "other"
        frame = frame.f_back
    return "other"


class Sampler:
    """Samples the main thread's stack every ``interval`` seconds of process CPU time.

    ``ITIMER_PROF`` counts CPU time, so the samples are spread in proportion to it (time
    spent waiting gets none); the handler runs in the main thread at the next bytecode, so
    a C function's time lands in the Python code that called it.
    """

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.counts: Counter[str] = Counter()

    def _sample(self, signum: int, frame: FrameType | None) -> None:
        self.counts[phase_of_stack(frame)] += 1

    def __enter__(self) -> Sampler:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)
        signal.signal(signal.SIGPROF, signal.SIG_DFL)


async def _profiled_sync(
    database_url: str, connection_id: str, key: str, connector: str
) -> dict[str, Any]:
    from bench.sync_bench import plugin_manager, unlimited
    from core.db import create_engine
    from core.models.enums import SyncMode
    from core.secrets import Vault
    from core.sync.runner import SyncOptions, run_sync

    engine = create_engine(database_url)
    pm = plugin_manager(connector)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        with Sampler() as sampler:
            result = await run_sync(
                connection_id,
                engine=engine,
                pm=pm,
                vault=Vault([key]),
                options=SyncOptions(mode=SyncMode.FULL, limiters=unlimited()),
            )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await engine.dispose()
    return {
        "status": result.status.value,
        "records": result.records,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "samples": dict(sampler.counts),
    }


def profile(database_url: str, base_url: str, connector: str) -> dict[str, Any]:
    """A profiled full sync of a new connection to ``base_url``, in a child process."""
    from cryptography.fernet import Fernet

    from bench.sync_bench import ROOT, _env, _prepare

    key = Fernet.generate_key().decode()
    connection_id = asyncio.run(_prepare(database_url, base_url, key, connector))
    args = ["child", database_url, connection_id, key, connector]
    done = subprocess.run(
        [sys.executable, "-m", "bench.sync_phases", *args],
        env=_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def measurements(report: dict[str, Any], connector: str, deals: int) -> list[Measurement]:
    samples: dict[str, int] = report["samples"]
    total = sum(samples.values()) or 1
    wall, cpu = report["wall_seconds"], report["cpu_seconds"]
    notes = (
        f"{connector}, {deals:,} deals, {report['records']:,} records into PostgreSQL in "
        f"{wall:.1f}s wall, {cpu:.1f} CPU-s, {total:,} CPU samples; shares of the syncing "
        "process's CPU"
    )
    return [
        Measurement(
            f"where sync time goes: {phase}",
            100 * samples.get(phase, 0) / total,
            "% of CPU",
            notes=notes,
            key=f"sync_cpu_share_{phase.replace(' ', '_')}",
        )
        for phase in PHASES
    ] + [
        Measurement(
            "where sync time goes: waiting",
            100 * max(0.0, wall - cpu) / wall if wall else None,
            "% of wall time",
            notes="wall time without CPU: the simulator, PostgreSQL (and a shared machine)",
            key="sync_share_waiting",
        )
    ]


def run(ctx: BenchContext, cluster: Any, deals: int, connector: str = "hubspot") -> Any:
    from bench.sync_bench import simulator

    with simulator(deals, connector) as base_url:
        url = cluster.create_database(f"phases_{connector}_{deals}")
        report = profile(url, base_url, connector)
    print(f"   phases: {json.dumps(report)}", flush=True)
    return measurements(report, connector, deals)


def _main(argv: list[str]) -> None:
    if argv and argv[0] == "child":
        from bench.sync_bench import plugin_manager
        from core.startup import quiet_imports

        with quiet_imports():  # the start-up of `crmkpi sync` (api.cli)
            import core.sync.runner  # noqa: F401

            plugin_manager(argv[4])
        from core import eventloop  # the loop `crmkpi sync` runs on

        print(json.dumps(eventloop.run(_profiled_sync(*argv[1:5]))))
        return
    import tempfile
    from pathlib import Path

    from tests.support.postgres import start_cluster

    quick = "--quick" in argv
    names = [a for a in argv if a != "--quick"]
    connector = names[0] if names else "hubspot"
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ctx = BenchContext(workdir=Path(tmp), quick=quick)
            for m in run(ctx, cluster, 1_000 if quick else 10_000, connector):
                print(f"{m.name}: {m.value:.1f}{m.unit}  ({m.notes})")
    finally:
        cluster.stop()


if __name__ == "__main__":
    _main(sys.argv[1:])
