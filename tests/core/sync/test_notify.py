"""The signed webhook sent when a sync ends, against a real local HTTP receiver."""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack

import pluggy
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.egress import EgressPolicy
from core.errors import ValidationError
from core.models import Connection
from core.secrets import Vault
from core.sync.notify import (
    check_webhook_url,
    clear_sync_webhook,
    deliver_sync_webhook,
    set_sync_webhook,
)
from core.sync.scheduler import EmbeddedScheduler
from tests.support.receiver import Receiver
from tests.support.server import serve
from tests.support.syncing import ConnectionFactory, SyncBench


async def _register(
    sessionmaker: async_sessionmaker[AsyncSession], vault: Vault, workspace_id: str, url: str
) -> str:
    async with sessionmaker() as session:
        secret = await set_sync_webhook(session, vault, workspace_id, url)
        await session.commit()
    return secret


async def test_a_finished_sync_is_posted_signed_and_retried(
    crm: SyncBench, vault: Vault, servers: ExitStack
) -> None:
    receiver = Receiver(fail_first=1)
    hook_url = servers.enter_context(serve(receiver))
    connection = await crm.connect()
    secret = await _register(crm.sessionmaker, vault, connection.workspace_id, hook_url + "/hook")

    result = await crm.sync(connection.id, full=True)

    assert receiver.attempts == 2  # the 503 was retried
    [delivery] = receiver.deliveries
    payload = delivery.payload
    assert delivery.signed_with(secret) and not delivery.signed_with(secret + "x")
    assert delivery.headers["x-crmkpi-event"] == "sync.finished"
    assert payload["run_id"] == result.run_id
    assert payload["connection_id"] == connection.id
    assert payload["workspace_id"] == connection.workspace_id
    assert payload["status"] == result.status.value == "SUCCEEDED"
    assert payload["mode"] == "FULL"
    assert payload["records"]["fetched"] == result.records > 0
    assert payload["started_at"] <= payload["finished_at"]


async def test_a_delivery_goes_only_where_the_egress_policy_allows(
    crm: SyncBench, vault: Vault, servers: ExitStack
) -> None:
    """The URL is checked when set, but a delivery checks the address it connects to too
    (a name may resolve to a private address by then): a receiver on an address the
    policy does not allow is never reached, and the sync is not affected."""
    receiver = Receiver()
    hook_url = servers.enter_context(serve(receiver))
    connection = await crm.connect()
    result = await crm.sync(connection.id, full=True)
    await _register(crm.sessionmaker, vault, connection.workspace_id, hook_url + "/hook")
    receiver.deliveries.clear()

    strict = EgressPolicy.of(())  # loopback not allowed
    assert not await deliver_sync_webhook(crm.sessionmaker, vault, result.run_id, egress=strict)
    assert receiver.attempts == 0 and receiver.deliveries == []

    allowed = EgressPolicy.from_settings()  # the tests allow loopback
    assert await deliver_sync_webhook(crm.sessionmaker, vault, result.run_id, egress=allowed)
    assert len(receiver.deliveries) == 1


async def test_an_unreachable_receiver_never_fails_the_sync(crm: SyncBench, vault: Vault) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    connection = await crm.connect()
    await _register(crm.sessionmaker, vault, connection.workspace_id, closed)

    result = await crm.sync(connection.id, full=True)

    assert result.status.value == "SUCCEEDED" and result.records > 0


async def test_a_removed_webhook_is_not_called(
    crm: SyncBench, vault: Vault, servers: ExitStack
) -> None:
    receiver = Receiver()
    hook_url = servers.enter_context(serve(receiver))
    connection = await crm.connect()
    await _register(crm.sessionmaker, vault, connection.workspace_id, hook_url)
    async with crm.sessionmaker() as session:
        assert await clear_sync_webhook(session, connection.workspace_id)
        await session.commit()

    await crm.sync(connection.id, full=True)

    assert receiver.attempts == 0


@pytest.mark.parametrize(
    "bad",
    [
        "ftp://example.com/x",
        "example.com/hook",
        "http://",
        "http://[::1",
        "http://h:99999/",
        "https://" + "a" * 600,
    ],
)
def test_webhook_urls_must_be_absolute_http(bad: str) -> None:
    with pytest.raises(ValidationError, match="absolute http"):
        check_webhook_url(bad)


def test_a_clean_webhook_url_is_kept() -> None:
    assert check_webhook_url(" https://hooks.example.com/x ") == "https://hooks.example.com/x"


async def test_the_embedded_scheduler_reports_its_runs(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    pm: pluggy.PluginManager,
    vault: Vault,
    servers: ExitStack,
    serve_simulator: Callable[[str | None], str],
    make_connection: ConnectionFactory,
) -> None:
    receiver = Receiver()
    hook_url = servers.enter_context(serve(receiver))
    connection = await make_connection(serve_simulator(None))
    secret = await _register(sessionmaker, vault, connection.workspace_id, hook_url)
    async with sessionmaker() as session:
        await session.execute(
            update(Connection).where(Connection.id == connection.id).values(schedule="1h")
        )
        await session.commit()
    scheduler = EmbeddedScheduler(engine, pm, vault)

    assert await scheduler.tick() == [connection.id]
    await scheduler.wait_idle()

    [delivery] = receiver.deliveries
    assert delivery.signed_with(secret)
    assert (delivery.payload["connection_id"], delivery.payload["status"]) == (
        connection.id,
        "SUCCEEDED",
    )
