"""The peer: singer-io's ``tap-hubspot`` reading our HubSpot simulator, beside our sync.

The tap runs in its own virtualenv (``var/peer-venv``, created and filled from the package
index on first use, never in the project's dependencies) and its base URL is set by
assigning ``tap_hubspot.BASE_URL`` before ``main()`` (it is a module constant, not a
setting). Of its streams, ``contacts`` reads the same CRM v3 endpoint as ours
(``/crm/v3/objects/contacts`` with associations); its other streams use the legacy v1/v2
endpoints (``/deals/v1/deal/paged``, ``/companies/v2/companies/paged``, ...) that our
simulator does not serve, so both sides are compared on that one stream. Comparing deals
and companies too would need the simulator to serve, in their legacy shapes (properties as
``{"value", "timestamp", "source", ...}`` objects, ``hasMore``/``offset`` paging): for
deals ``/properties/v1/deals/properties`` and ``/crm/v3/properties/deals`` (schema),
``/deals/v1/deal/paged`` (with ``includeAssociations``, ``includeAllProperties``) and, for
the selected ``hs_v2_date_entered/exited`` fields, ``/crm/v3/objects/deals/batch/read``;
for companies ``/companies/v2/properties``, ``/companies/v2/companies/paged``, then one
``/companies/v2/companies/{id}`` per company and
``/crm/v3/associations/company/contact/batch/read`` (read from tap-hubspot 4.5.0's
``ENDPOINTS``, ``load_schema``, ``sync_deals`` and ``sync_companies``). The tap also
reads ``/crm/v3/properties/contacts`` to build its schema: a small bench-only ASGI wrapper
answers it (with the properties our simulator serves) in front of the simulator.

What each side does with the records differs, and is said in the notes: the tap writes
Singer messages to stdout (to a file here, no target), ours maps and upserts them into
PostgreSQL. Both report wall time and peak RSS of their own process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEER_VENV = ROOT / "var" / "peer-venv"
PEER_PACKAGE = "tap-hubspot==4.5.0"
INSTALL_TIMEOUT = 300
#: Properties of a contact as HubSpot's properties API describes them (name and type).
CONTACT_PROPERTIES = (
    ("firstname", "string"),
    ("lastname", "string"),
    ("email", "string"),
    ("associatedcompanyid", "number"),
    ("hubspot_owner_id", "enumeration"),
    ("lifecyclestage", "enumeration"),
    ("hs_analytics_source", "enumeration"),
    ("createdate", "datetime"),
    ("hs_lifecyclestage_lead_date", "datetime"),
    ("hs_lifecyclestage_marketingqualifiedlead_date", "datetime"),
    ("hs_lifecyclestage_salesqualifiedlead_date", "datetime"),
    ("hs_lifecyclestage_customer_date", "datetime"),
    ("lastmodifieddate", "datetime"),
)


def tap_python(venv: Path, package: str, timeout: float = INSTALL_TIMEOUT) -> Path:
    """The interpreter of a tap's own venv, creating it and installing ``package`` from the
    package index first when its ``tap-hubspot`` command is missing."""
    python = venv / "bin" / "python"
    if (venv / "bin" / "tap-hubspot").exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", package], check=True, timeout=timeout
    )
    return python


def peer_python() -> Path:
    """The singer-io tap's interpreter (bench.peer_meltano has its own venv)."""
    return tap_python(PEER_VENV, PEER_PACKAGE)


def properties_app(inner: Any) -> Any:
    """``inner`` (the simulator) plus what the tap reads before the records: the contact
    properties and the portal's custom object schemas (none)."""
    properties = [{"name": n, "type": t, "fieldType": "text"} for n, t in CONTACT_PROPERTIES]
    bodies = {
        "/crm/v3/properties/contacts": json.dumps({"results": properties}).encode(),
        "/crm/v3/schemas": b'{"results": []}',
    }

    return answering_first(inner, lambda path: bodies.get(path.rstrip("/")))


def answering_first(inner: Any, body_for: Any) -> Any:
    """``inner`` behind an ASGI app that answers 200 with the JSON ``body_for(path)`` where
    it is not None (the endpoints a tap reads that the simulator does not hold)."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        body = body_for(scope.get("path", "")) if scope["type"] == "http" else None
        if body is not None:
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, receive, send)

    return app


def _catalog() -> dict[str, Any]:
    """The contacts stream alone, with the properties our connector reads selected (the
    tap asks for the selected ones, as ours does)."""
    fields = [f"property_{name}" for name, _ in CONTACT_PROPERTIES]
    metadata: list[dict[str, Any]] = [
        {"breadcrumb": [], "metadata": {"selected": True, "table-key-properties": ["id"]}}
    ]
    metadata += [
        {"breadcrumb": ["properties", f], "metadata": {"inclusion": "available", "selected": True}}
        for f in fields
    ]
    schema = {"type": "object", "properties": {f: {"type": ["null", "string"]} for f in fields}}
    return {
        "streams": [
            {"tap_stream_id": "contacts", "stream": "contacts", "schema": schema}
            | {"metadata": metadata}
        ]
    }


def run_tap(base_url: str, access_token: str) -> dict[str, Any]:
    """One full read of contacts by the tap; records, seconds and its peak RSS."""
    python = peer_python()
    with tempfile.TemporaryDirectory(prefix="crmkpi-peer-") as tmp:
        work = Path(tmp)
        config = {"api_key": access_token, "start_date": "2000-01-01T00:00:00Z"}
        (work / "config.json").write_text(json.dumps(config))
        (work / "catalog.json").write_text(json.dumps(_catalog()))
        # The tap's own peak RSS (VmHWM, since its exec) goes to stderr at exit.
        code = (
            "import atexit, sys, tap_hubspot\n"
            "def hwm():\n"
            "    line = [x for x in open('/proc/self/status') if x.startswith('VmHWM')][0]\n"
            "    sys.stderr.write('\\nPEAK_RSS_KB ' + line.split()[1] + '\\n')\n"
            "atexit.register(hwm)\n"
            "tap_hubspot.BASE_URL = sys.argv.pop(1)\n"
            "tap_hubspot.main()\n"
        )
        argv = [str(python), "-c", code, base_url, "--config", str(work / "config.json")]
        # This tap takes its catalog with the older ``--properties`` flag.
        argv += ["--properties", str(work / "catalog.json")]
        out = work / "out.jsonl"
        log = work / "stderr.log"  # a file, not a pipe: the tap logs every request
        with out.open("wb") as stdout, log.open("wb") as stderr_file:
            started = time.perf_counter()
            process = subprocess.Popen(argv, stdout=stdout, stderr=stderr_file)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        stderr = log.read_text(errors="replace")
        peaks = [line.split()[1] for line in stderr.splitlines() if line.startswith("PEAK_RSS_KB")]
        if status != 0:
            raise RuntimeError(f"tap-hubspot failed: {stderr[-2000:]}")
        records = 0
        with out.open("rb") as lines:
            for line in lines:
                if line.startswith(b'{"type": "RECORD"') or b'"type": "RECORD"' in line[:40]:
                    records += 1
    return {
        "records": records,
        "seconds": seconds,
        "peak_rss_mb": int(peaks[-1]) / 1024 if peaks else usage.ru_maxrss / 1024,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
    }


def peer_measurements(ctx: Any, cluster: Any) -> list[Any]:
    """Contacts read by tap-hubspot and synced by us, from the same simulator."""
    from bench.harness import Measurement
    from bench.sync_bench import CONNECTOR_DEALS, QUICK_CONNECTOR_DEALS, measure, simulator
    from connectors.hubspot.simulator import ACCESS_TOKEN

    deals = QUICK_CONNECTOR_DEALS if ctx.quick else CONNECTOR_DEALS
    with simulator(deals, "hubspot", peer="singer-io") as base_url:
        peer = run_tap(base_url, ACCESS_TOKEN)
        url = cluster.create_database(f"peer_hubspot_{deals}")
        ours = measure(url, base_url, "hubspot", "contacts")
    print(f"   tap-hubspot: {peer}\n   ours (contacts): {ours}", flush=True)
    # Both sides as whole processes (start-up and imports included): the tap has no other.
    peer_rate = peer["records"] / peer["seconds"]
    our_rate = ours["records"] / ours["process_seconds"]
    same = (
        f"HubSpot simulator, {deals:,} deals, contacts stream with associations, full read, "
        f"whole processes (start-up included); tap-hubspot {peer['records']:,} records in "
        f"{peer['seconds']:.1f}s ({peer['cpu_seconds']:.1f} CPU-s) written as Singer messages "
        f"to a file (no target); ours {ours['records']:,} records (contacts and the streams "
        f"they depend on) in {ours['process_seconds']:.1f}s "
        f"({ours['process_cpu_seconds']:.1f} CPU-s; run_sync alone {ours['seconds']:.1f}s), "
        "mapped and upserted into PostgreSQL"
    )
    return [
        Measurement(
            "sync vs legacy singer-io tap-hubspot (contacts only): records/s",
            our_rate,
            "records/s",
            baseline=peer_rate,
            baseline_name="tap-hubspot 4.5.0 (singer-io), same simulator",
            target="faster than the peer",
            notes=same,
            key="sync_hubspot_contacts_records_per_s",
        ),
        Measurement(
            "tap-hubspot (contacts): records/s",
            peer_rate,
            "records/s",
            notes="the peer alone (see above)",
            key="peer_records_per_s",
        ),
        Measurement(
            "sync vs tap-hubspot: ratio of records/s",
            our_rate / peer_rate,
            "x",
            baseline=1.0,
            baseline_name="parity",
            target="> 1",
            key="sync_vs_peer_ratio",
        ),
        Measurement(
            "sync vs tap-hubspot: peak RSS",
            ours["peak_rss_mb"],
            "MB",
            baseline=peer["peak_rss_mb"],
            baseline_name="tap-hubspot's peak RSS",
            notes="each process's own peak since its exec (VmHWM)",
            key="sync_hubspot_contacts_peak_rss_mb",
        ),
        Measurement(
            "tap-hubspot: peak RSS",
            peer["peak_rss_mb"],
            "MB",
            notes="the peer alone",
            key="peer_peak_rss_mb",
        ),
    ]
