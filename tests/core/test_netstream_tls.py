"""TLS on core.netstream's asyncio streams: what every connector's request to a real CRM
uses (https). The handshake, the certificate's verification and the server name are
asyncio's ``start_tls``; these tests hold them to a local server with its own CA."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import httpcore
import httpx
import pytest
import trustme

from core import egress
from core.egress import EgressPolicy, egress_client
from core.netstream import AsyncioBackend
from tests.support.loops import event_loop_policy  # noqa: F401  (each test on both loops)

BODY = b"secured"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@contextlib.asynccontextmanager
async def _https(ca: trustme.CA | None) -> AsyncIterator[int]:
    """An HTTPS server on 127.0.0.1 whose certificate ``ca`` issued for that address
    (``None``: the same server over plain HTTP)."""
    context = None
    if ca is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_a_request_is_answered_over_tls_verified_by_the_trusted_ca(ca: trustme.CA) -> None:
    async with _https(ca) as port:
        pool = httpcore.AsyncConnectionPool(
            ssl_context=_trusting(ca), network_backend=AsyncioBackend()
        )
        async with pool:
            response = await pool.request("GET", f"https://127.0.0.1:{port}/")
            assert (response.status, response.content) == (200, BODY)
            stream = response.extensions["network_stream"]
            assert stream.get_extra_info("ssl_object").version() in ("TLSv1.2", "TLSv1.3")


async def test_a_certificate_of_another_ca_fails_the_handshake(ca: trustme.CA) -> None:
    async with _https(ca) as port:
        pool = httpcore.AsyncConnectionPool(
            ssl_context=_trusting(trustme.CA()), network_backend=AsyncioBackend()
        )
        async with pool:
            with pytest.raises(httpcore.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await pool.request("GET", f"https://127.0.0.1:{port}/")


async def test_a_connection_client_verifies_certificates_and_succeeds_with_a_trusted_one(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The product's client (egress checks, linear pool, asyncio streams): a certificate
    its trust store does not know is refused; trusted, the same request succeeds."""
    policy = EgressPolicy.of(["127.0.0.1"])
    egress.tls_context.cache_clear()
    try:
        async with _https(ca) as port:
            url = f"https://127.0.0.1:{port}/v1/deals"
            async with egress_client(policy, timeout=5, max_connections=2) as client:
                with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(url)
            monkeypatch.setattr(egress.httpx, "create_ssl_context", lambda **_: _trusting(ca))
            egress.tls_context.cache_clear()  # the next TLS connection makes it anew
            async with egress_client(policy, timeout=5, max_connections=2) as client:
                response = await client.get(url)
                assert (response.status_code, response.content) == (200, BODY)
    finally:
        egress.tls_context.cache_clear()


async def test_the_tls_context_is_made_at_the_first_tls_connection_and_then_shared(
    ca: trustme.CA, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clients that speak plain HTTP never load a CA store; the first TLS connection makes
    the context, and every later client (a sync's, the next sync's) uses that one."""
    made: list[ssl.SSLContext] = []

    def make(**_: object) -> ssl.SSLContext:
        made.append(_trusting(ca))
        return made[-1]

    monkeypatch.setattr(egress.httpx, "create_ssl_context", make)
    policy = EgressPolicy.of(["127.0.0.1"])
    egress.tls_context.cache_clear()
    try:
        async with (
            _https(None) as port,
            egress_client(policy, timeout=5, max_connections=2) as client,
        ):
            response = await client.get(f"http://127.0.0.1:{port}/v1/deals")
            assert (response.status_code, response.content) == (200, BODY)
        assert made == []
        async with _https(ca) as port:
            for _ in range(2):
                async with egress_client(policy, timeout=5, max_connections=2) as client:
                    response = await client.get(f"https://127.0.0.1:{port}/v1/deals")
                    assert (response.status_code, response.content) == (200, BODY)
        assert len(made) == 1
    finally:
        egress.tls_context.cache_clear()
