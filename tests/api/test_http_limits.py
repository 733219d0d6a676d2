"""Body size and rate limits as an attacker tries them (issue #20, findings 3, 4 and 6).

Bodies go over a real socket to uvicorn (chunked, without Content-Length); the server's
peak memory must not grow by the body. Rate-limit identities: one key spelt several ways
is one bucket; invented tokens share their address's bucket, on the in-process limiter
(SQLite) and the PostgreSQL-shared one.
"""

from __future__ import annotations

import resource
import secrets
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.app import create_app
from core.plugins import create_plugin_manager
from core.settings import Settings
from tests.support.api import api_client
from tests.support.live_server import live_server
from tests.support.records import Tenant, create_tenant

MB = 1024 * 1024
QUERY = "{ viewer { role } }"


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=0)


def _app(database_url: str, **settings: object) -> FastAPI:
    return create_app(
        Settings(database_url=database_url, scheduler="off", **settings),  # type: ignore[arg-type]
        plugins=create_plugin_manager(load_entrypoints=False),
    )


class Body:
    """A chunked body of ``total`` bytes that counts what was actually sent."""

    def __init__(self, total: int, prefix: bytes = b'{"query": "') -> None:
        self.total = total
        self.prefix = prefix
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = b" " * (256 * 1024)
        yield self.prefix
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


def _post(url: str, body: Body) -> int | None:
    """The answer's status, or None when the server closed the connection mid-upload."""
    try:
        with httpx.Client(timeout=30) as http:
            headers = {"Content-Type": "application/json"}
            return http.post(url, content=iter(body), headers=headers).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


def test_a_150_mb_chunked_body_is_refused_early(database_url: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, the peak so far
    with live_server(_app(database_url)) as base:
        graphql = Body(150 * MB)
        webhook = Body(150 * MB, prefix=b"{")
        statuses = [
            _post(f"{base}/graphql", graphql),
            _post(f"{base}/webhooks/hubspot/some-connection", webhook),
        ]
        with httpx.Client() as http:
            small = http.post(f"{base}/graphql", json={"query": QUERY})
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert statuses[0] in (413, None) and statuses[1] in (413, None), statuses
    assert 413 in statuses  # answered, not only dropped
    assert graphql.sent < 20 * MB and webhook.sent < 20 * MB  # stopped early
    assert grown_mb < 60, grown_mb  # memory stays flat: 150 MB were never held
    assert small.status_code == 200  # a normal request still passes


def test_the_webhook_checks_its_size_while_reading(database_url: str) -> None:
    # The app-wide limit raised far above the webhook's own: the route's check must hold.
    with live_server(_app(database_url, max_request_bytes=500 * MB)) as base:
        body = Body(150 * MB, prefix=b"{")
        status = _post(f"{base}/webhooks/hubspot/some-connection", body)
        with httpx.Client() as http:
            declared = http.post(
                f"{base}/webhooks/hubspot/x", content=b"{" + b" " * (2 * MB) + b"}"
            )
    assert status in (413, None) and body.sent < 20 * MB
    assert declared.status_code == 413
    assert "body over 1000000 bytes" in declared.json()["error"]


async def test_one_key_spelt_differently_is_one_bucket(engine: AsyncEngine, tenant: Tenant) -> None:
    key = tenant.keys["viewer"]
    spellings = [f"Bearer {key}", f"bearer {key}", f"BEARER   {key}  ", f"  Bearer {key}"]
    async with api_client(engine, rate_limit_per_minute=1, rate_limit_burst=3) as client:
        statuses = [
            (
                await client.http.post(
                    "/graphql", json={"query": QUERY}, headers={"Authorization": header}
                )
            ).status_code
            for header in spellings
        ]
    assert statuses == [200, 200, 200, 429]


async def test_invented_tokens_share_their_address_bucket(
    engine: AsyncEngine, tenant: Tenant
) -> None:
    async with api_client(engine, rate_limit_per_minute=1, rate_limit_burst=5) as client:
        statuses = [
            (
                await client.http.post(
                    "/graphql",
                    json={"query": "{ __typename }"},
                    headers={"Authorization": f"Bearer ck_{secrets.token_hex(8)}"},
                )
            ).status_code
            for _ in range(12)
        ]
        anonymous = await client.http.post("/graphql", json={"query": "{ __typename }"})
    assert statuses[:5] == [401] * 5  # an invalid key is refused (finding 8), and counted
    assert statuses[5:] == [429] * 7  # fresh tokens bought no fresh buckets
    assert anonymous.status_code == 429  # the same address's bucket
