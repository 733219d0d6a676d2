"""The strongest sync peer: MeltanoLabs' ``tap-hubspot`` (singer-sdk) beside our HubSpot sync.

Issue #21 asks the sync to be measured against the tap people use today, not the legacy
singer-io one: ``meltano-tap-hubspot`` from the package index, installed in its own
virtualenv (``var/meltano-venv``, never in the project's dependencies), reading the product's
HubSpot simulator over the same dataset and the same eight object types (deals, contacts,
companies, calls, emails, meetings, notes, tasks), full reads, timed in the same run as
``crmkpi``'s HubSpot sync with its rate limiter lifted.

The comparison is records per CPU-second of each whole process (start-up and imports
included on both sides): the rate limits bound one connection's wall time, the CPU bounds
how many connections a worker serves. What each side does with a record differs and is said
in the notes: the tap writes Singer messages to a file (no target), ours maps the records and
upserts them into PostgreSQL.

Two things the tap needs are set from outside, without touching its code:

- its base URL is a constant (``https://api.hubapi.com``) in each stream class's
  ``url_base`` property; a small launcher (:data:`LAUNCHER`) rewrites that prefix to the
  simulator's URL before calling the tap's CLI;
- its discovery reads ``/crm/v3/properties/{type}`` for every object type it knows
  (tickets, quotes, line items, ...). A real portal answers each; the simulator holds only
  the types we sync, so :func:`meltano_app` answers an empty property list for the others
  (those streams are not selected and read nothing).
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peer_tap import answering_first, tap_python

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "var" / "meltano-venv"
PEER_PACKAGE = "meltano-tap-hubspot==0.10.1"
INSTALL_TIMEOUT = 600
#: The eight object types both sides read.
OBJECT_TYPES = ("deals", "contacts", "companies", "calls", "emails", "meetings", "notes", "tasks")

#: Runs the tap's CLI with every ``url_base`` pointed at argv[1]; its peak RSS (VmHWM)
#: goes to stderr at exit.
LAUNCHER = """
import atexit, sys
base = sys.argv.pop(1)
import tap_hubspot.client, tap_hubspot.streams
for module in (tap_hubspot.client, tap_hubspot.streams):
    for cls in list(vars(module).values()):
        found = cls.__dict__.get("url_base") if isinstance(cls, type) else None
        if isinstance(found, property):
            cls.url_base = property(
                lambda self, p=found: p.fget(self).replace("https://api.hubapi.com", base)
            )
def hwm():
    line = [x for x in open("/proc/self/status") if x.startswith("VmHWM")][0]
    sys.stderr.write("\\nPEAK_RSS_KB " + line.split()[1] + "\\n")
atexit.register(hwm)
from tap_hubspot.tap import TapHubspot
TapHubspot.cli()
"""


#: Rounds of tap then sync, interleaved: one sample of each varied by ~10% from run to run
#: on a shared machine (the ratio moved by as much), a median of three holds still.
ROUNDS = 3


def _median_by(runs: list[dict[str, Any]], field: str) -> dict[str, Any]:
    """The run whose ``field`` is the median (the lower middle of an even count)."""
    return sorted(runs, key=lambda run: float(run[field]))[(len(runs) - 1) // 2]


def cluster_cpu_seconds(cluster: Any) -> float:
    """CPU-seconds used so far by a local PostgreSQL cluster: its postmaster's own and its
    ended backends' (reaped, so counted in the postmaster's children times), plus the
    backends still running. Linux /proc."""
    clock = os.sysconf("SC_CLK_TCK")
    postmaster = int((Path(cluster.data_dir) / "postmaster.pid").read_text().split()[0])

    def fields(pid: int | str) -> list[str]:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    ticks = sum(int(x) for x in fields(postmaster)[11:15])
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = fields(entry)
            except OSError:  # ended meanwhile
                continue
            if int(stat[1]) == postmaster:
                ticks += int(stat[11]) + int(stat[12])
    return ticks / clock


def peer_python() -> Path:
    """The Meltano tap's interpreter, in its own venv (installed on first use)."""
    return tap_python(PEER_VENV, PEER_PACKAGE, INSTALL_TIMEOUT)


def meltano_app(inner: Any) -> Any:
    """``inner`` (the HubSpot simulator), answering an empty property list for the object
    types it does not hold, as a portal without such records would."""
    empty = b'{"results": []}'
    prefix = "/crm/v3/properties/"

    def body_for(path: str) -> bytes | None:
        held = not path.startswith(prefix) or path[len(prefix) :].strip("/") in OBJECT_TYPES
        return None if held else empty

    return answering_first(inner, body_for)


def _select(catalog: dict[str, Any]) -> dict[str, Any]:
    """The discovered catalog with exactly the eight object streams selected."""
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] in OBJECT_TYPES
    return catalog


def run_tap(base_url: str, access_token: str) -> dict[str, Any]:
    """Discovery, then one full read of the eight streams; records per stream, wall
    seconds, CPU seconds and peak RSS of the read (discovery is timed apart)."""
    python = peer_python()
    with tempfile.TemporaryDirectory(prefix="crmkpi-meltano-") as tmp:
        work = Path(tmp)
        config = work / "config.json"
        config.write_text(
            json.dumps({"access_token": access_token, "start_date": "2000-01-01T00:00:00Z"})
        )
        base = [str(python), "-c", LAUNCHER, base_url, "--config", str(config)]
        discovered = subprocess.run(
            [*base, "--discover"], capture_output=True, text=True, check=False, timeout=300
        )
        if discovered.returncode != 0:
            raise RuntimeError(f"tap-hubspot discovery failed: {discovered.stderr[-2000:]}")
        catalog = work / "catalog.json"
        catalog.write_text(json.dumps(_select(json.loads(discovered.stdout))))
        out, log = work / "out.jsonl", work / "stderr.log"
        with out.open("wb") as stdout, log.open("wb") as stderr:
            started = time.perf_counter()
            process = subprocess.Popen(
                [*base, "--catalog", str(catalog)], stdout=stdout, stderr=stderr
            )
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        text = log.read_text(errors="replace")
        if status != 0:
            raise RuntimeError(f"tap-hubspot failed: {text[-2000:]}")
        peaks = [line.split()[1] for line in text.splitlines() if line.startswith("PEAK_RSS_KB")]
        per_stream: collections.Counter[str] = collections.Counter()
        with out.open("rb") as lines:
            for line in lines:
                if b'"RECORD"' in line[:40]:
                    per_stream[json.loads(line)["stream"]] += 1
    return {
        "records": sum(per_stream.values()),
        "per_stream": dict(per_stream),
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": int(peaks[-1]) / 1024 if peaks else usage.ru_maxrss / 1024,
    }


def peer_measurements(ctx: Any, cluster: Any) -> list[Any]:
    """The Meltano tap and our HubSpot sync on one simulator, in the same run."""
    from bench.harness import Measurement
    from bench.sync_bench import CONNECTOR_DEALS, QUICK_CONNECTOR_DEALS, measure, simulator
    from connectors.hubspot.connector import HubSpotConnector

    deals = QUICK_CONNECTOR_DEALS if ctx.quick else CONNECTOR_DEALS
    token = HubSpotConnector.simulator_credentials()["access_token"]
    taps: list[dict[str, Any]] = []
    syncs: list[dict[str, Any]] = []
    with simulator(deals, "hubspot", peer="meltano") as base_url:
        for round_ in range(1 if ctx.quick else ROUNDS):
            taps.append(run_tap(base_url, token))
            database = cluster.create_database(f"meltano_peer_{deals}_{round_}")
            before = cluster_cpu_seconds(cluster)
            syncs.append(measure(database, base_url, "hubspot"))
            syncs[-1]["postgres_cpu_seconds"] = cluster_cpu_seconds(cluster) - before
    peer = _median_by(taps, "cpu_seconds")
    ours = _median_by(syncs, "process_cpu_seconds")
    print(f"   meltano tap-hubspot: {peer}\n   ours (hubspot): {ours}", flush=True)
    peer_rate = peer["records"] / peer["cpu_seconds"]
    our_rate = ours["records"] / ours["process_cpu_seconds"]
    rounds = (
        f"{len(taps)} interleaved rounds, median of each side (tap CPU-s "
        + ", ".join(f"{t['cpu_seconds']:.2f}" for t in taps)
        + "; ours "
        + ", ".join(f"{o['process_cpu_seconds']:.2f}" for o in syncs)
        + "); PostgreSQL's own CPU for our median sync (with its schema set-up) "
        f"{ours['postgres_cpu_seconds']:.1f} s (not counted: the tap stores nothing)"
    )
    notes = (
        f"HubSpot simulator, {deals:,} deals, full reads of {', '.join(OBJECT_TYPES)}; "
        f"tap {peer['records']:,} records in {peer['seconds']:.1f}s wall, "
        f"{peer['cpu_seconds']:.1f} CPU-s, Singer messages to a file (no target); ours "
        f"{ours['records']:,} records (the eight types plus owners, pipelines, stage history "
        f"and the portal's settings) in {ours['process_seconds']:.1f}s wall, "
        f"{ours['process_cpu_seconds']:.1f} CPU-s of the whole process, mapped and upserted "
        f"into PostgreSQL, rate limiter lifted; {rounds}"
    )
    return [
        Measurement(
            "hubspot sync vs Meltano tap-hubspot: records per CPU-second",
            our_rate,
            "records/CPU-s",
            baseline=peer_rate,
            baseline_name=f"{PEER_PACKAGE} (singer-sdk), same simulator, same run",
            target=">= 3x the tap (floor 1.5x)",
            notes=notes,
            key="sync_hubspot_records_per_cpu_s",
        ),
        Measurement(
            "hubspot sync vs Meltano tap-hubspot: ratio of records per CPU-second",
            our_rate / peer_rate,
            "x",
            baseline=1.0,
            baseline_name="parity",
            target=">= 3 (floor 1.5)",
            key="sync_vs_meltano_ratio",
        ),
        Measurement(
            "hubspot sync vs Meltano tap-hubspot: wall time",
            ours["process_seconds"],
            "s",
            baseline=peer["seconds"],
            baseline_name="the tap's wall time",
            notes="whole processes; ours writes to PostgreSQL, the tap to a file",
            key="sync_hubspot_wall_s",
        ),
        Measurement(
            "hubspot sync vs Meltano tap-hubspot: peak RSS",
            ours["peak_rss_mb"],
            "MB",
            baseline=peer["peak_rss_mb"],
            baseline_name="the tap's peak RSS",
            notes="each process's own peak since its exec (VmHWM)",
            key="sync_hubspot_vs_meltano_peak_rss_mb",
        ),
    ]
