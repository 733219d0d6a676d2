"""What the HTTP client costs a HubSpot sync: the same sync with httpx, and with a bare one.

Issue #21 asks for 1.5x the Meltano tap's records per CPU-second. The phase split
(bench.sync_phases) gives HTTP about a quarter of the sync's CPU, spread over httpx,
httpcore, h11 and anyio with no single hot spot: about 1 ms of CPU per 75 KB page against
0.12 ms for a bare asyncio exchange. This probe measures what a leaner client would save
on the whole sync: the child replaces ``SyncHttp._send_once`` by a plain HTTP/1.1
keep-alive exchange over asyncio streams (:func:`_bare_send_once`) and runs the same full
sync; everything else (limiter, decoding, mapping, writes) is unchanged.

The bare exchange is a measurement, not a client: no egress checks, TLS, timeouts,
compression, connection limits nor error handling. A real one would keep those of
core.egress and core.sync.http, and a mock point for respx.

Runnable alone: ``python -m bench.http_probe [rounds]`` (PostgreSQL, 10,000 deals); prints
each child's report, the two variants interleaved.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any
from urllib.parse import urlencode, urlsplit

_idle: dict[tuple[str, int], list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]] = {}


async def _exchange(
    method: str, url: str, params: Any, body: Any, headers: dict[str, str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    import orjson

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    path = parts.path + ("?" + urlencode(params) if params else "")
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    payload = b""
    if body is not None:
        payload = orjson.dumps(body)
        head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    pool = _idle.setdefault((host, port), [])
    reader, writer = pool.pop() if pool else await asyncio.open_connection(host, port)
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    found = [(k.strip(), v.strip()) for k, _, v in (x.partition(":") for x in lines[1:] if x)]
    length = {k.lower(): v for k, v in found}.get("content-length")
    if length is not None:
        content = await reader.readexactly(int(length))
    else:  # chunked
        chunks = []
        while size := int((await reader.readline()).strip(), 16):
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        await reader.readline()
        content = b"".join(chunks)
    pool.append((reader, writer))
    return status, found, content


async def _bare_send_once(self: Any, request: Any, auth: Any) -> Any:
    """``SyncHttp._send_once`` over :func:`_exchange` (same limiter calls and response)."""
    import httpx

    ticket = await self.limiter.acquire(self.connector.budgets_for(request))
    self.requests += 1
    url, params = self.target(request, auth)
    status, headers, content = await _exchange(
        request.method, url, params, request.json, auth.headers
    )
    response = httpx.Response(status, headers=headers, content=content)
    self.limiter.observe(response.headers, ticket)
    self.limiter.record(self.connector.read_quota(response))
    return response


def _child(argv: list[str]) -> None:
    from bench.sync_bench import _sync, plugin_manager
    from core.startup import quiet_imports

    with quiet_imports():  # the start-up of `crmkpi sync`, as bench.sync_bench's child
        import core.sync.http
        import core.sync.runner

        plugin_manager("hubspot")
    if argv[0] == "bare":
        core.sync.http.SyncHttp._send_once = _bare_send_once  # type: ignore[method-assign]
    from core import eventloop  # the loop `crmkpi sync` runs on

    print(json.dumps(eventloop.run(_sync(*argv[1:4], "hubspot"))))


def _main(rounds: int) -> None:
    from cryptography.fernet import Fernet

    from bench.sync_bench import ROOT, _env, _prepare, simulator
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        with simulator(10_000, "hubspot") as base_url:
            for n in range(rounds):
                for variant in ("httpx", "bare"):
                    url = cluster.create_database(f"probe_{variant}_{n}")
                    key = Fernet.generate_key().decode()
                    connection = asyncio.run(_prepare(url, base_url, key, "hubspot"))
                    done = subprocess.run(
                        [sys.executable, "-m", "bench.http_probe", variant, url, connection, key],
                        env=_env(),
                        cwd=ROOT,
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    report = json.loads(done.stdout.strip().splitlines()[-1])
                    print(
                        f"{variant:5s} {report['status']} {report['records']:,} records, "
                        f"run_sync {report['cpu_seconds']:.2f} CPU-s, process "
                        f"{report['process_cpu_seconds']:.2f} CPU-s, load "
                        f"{report['load_average']:.2f}",
                        flush=True,
                    )
    finally:
        cluster.stop()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("httpx", "bare"):
        _child(sys.argv[1:])
    else:
        _main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
