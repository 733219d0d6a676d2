"""The egress client's pooled connections: a keep-alive connection the server closed while
idle is noticed and replaced (core.netstream.AsyncioStream answers httpcore's "is the
idle socket readable" check from what it received, else one poll of its socket)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpcore
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.egress import EgressPolicy, _CheckedBackend, egress_client
from core.netstream import readable as _readable

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def test_readable_tells_an_idle_socket_from_a_closed_one() -> None:
    ours, theirs = socket.socketpair()
    try:
        assert not _readable(ours)  # nothing sent, still open: reusable
        theirs.close()
        assert _readable(ours)  # the peer closed it: reading returns b""
        ours.close()
        assert _readable(ours)  # closed on our side (fileno -1): dropped too
    finally:
        ours.close()
        theirs.close()


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    """Each connection answers one request and is then closed by the server, keep-alive
    notwithstanding: the next request must go over a new connection, not fail on the
    dead one ("server disconnected without sending a response")."""
    connections = 0
    closed = asyncio.Event()

    async def one_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(ANSWER)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    server = await asyncio.start_server(one_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = egress_client(EgressPolicy.of(["127.0.0.1"]), timeout=5.0, max_connections=4)
    try:
        for _ in range(3):
            closed.clear()
            response = await client.get(f"http://127.0.0.1:{port}/v1/deals/1/flow")
            assert response.status_code == 200
            assert response.json() == {}
            await closed.wait()
        assert connections == 3
    finally:
        await client.aclose()
        server.close()
        await server.wait_closed()


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


async def test_tls_connections_are_checked_and_reused(tmp_path: Path) -> None:
    """Over TLS (every real CRM), the stream start_tls returns is wrapped too: requests on
    one kept-alive connection, then a new one after the server closed it while idle."""
    cert_file, key_file = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    client_tls = ssl.create_default_context(cafile=str(cert_file))
    connections: list[int] = []
    close_now = asyncio.Event()
    closed = asyncio.Event()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(len(connections))
        while not reader.at_eof():
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(ANSWER)
            await writer.drain()
            if close_now.is_set():
                break
        # Dropped without TLS's close_notify (whose TCP close would wait for the client's
        # answer, which an idle pooled connection never reads); closed once this returns.
        writer.transport.abort()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.wait_closed()
        closed.set()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    pool = httpcore.AsyncConnectionPool(
        ssl_context=client_tls, network_backend=_CheckedBackend(EgressPolicy.of(["127.0.0.1"]))
    )
    url = f"https://127.0.0.1:{port}/api/v2/deals"
    try:
        async with asyncio.timeout(20):
            await _four_requests(pool, url, connections, close_now, closed)
    finally:
        await pool.aclose()
        server.close()
        await server.wait_closed()


async def _four_requests(
    pool: httpcore.AsyncConnectionPool,
    url: str,
    connections: list[int],
    close_now: asyncio.Event,
    closed: asyncio.Event,
) -> None:
    for _ in range(2):
        assert (await pool.request("GET", url)).status == 200
    assert connections == [0]  # kept alive over TLS
    close_now.set()
    assert (await pool.request("GET", url)).status == 200  # the server closes after it
    await closed.wait()
    assert (await pool.request("GET", url)).status == 200
    assert connections == [0, 1]
