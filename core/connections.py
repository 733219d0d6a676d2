"""Managing connections: pause and resume, checking credentials and capabilities, deletion
with their data.

(Creating connections and editing mappings is core.sync.connections, shared with the CLI.)

Synced tables reference their connection by id without a foreign key (rows are upserted in
bulk, in any order), so deleting a connection deletes its rows from every synced table
here, in the same transaction; its runs, cursors and quarantined records go with it by
``ON DELETE CASCADE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

import httpx
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.egress import EgressPolicy, OutboundRefused
from core.errors import NotFoundError
from core.metrics.rollup_refresh import ROLLUPS_KEPT
from core.metrics.stretch_refresh import KEEPS_STRETCHES
from core.models import (
    SYNCED_MODELS,
    ActivityDay,
    Connection,
    CustomerStretch,
    DealDay,
    RecordError,
    SyncRun,
    SyncState,
    Workspace,
    utcnow,
)
from core.models.enums import SyncMode
from core.secrets import Vault
from core.settings import Settings
from core.sync.capabilities import Capabilities, CapabilityUnavailable
from core.sync.connections import (
    check_credentials,
    check_lookback,
    connector_class,
    resolve_options,
)
from core.sync.connector import Connector, Request, Stream, StreamContext
from core.sync.discovery import DiscoveryFailed, discover, store_capabilities
from core.sync.errors import SyncError
from core.sync.http import RetryPolicy, SyncHttp, create_http_client
from core.sync.ratelimit import RateLimiter
from core.sync.schedules import parse_full_sync, schedule_from_options

ACTIVE = "ACTIVE"
PAUSED = "PAUSED"
#: A credential check is one request: fail fast rather than wait out a long retry budget.
_CHECK_RETRY = RetryPolicy(attempts=2, base=0.2, cap=1.0)

#: Deleting a connection's (a workspace's) records deletes its customer stretches and daily
#: rollups too: no refresh of each customer's stretches or each day first
#: (core.metrics.stretch_refresh, core.metrics.rollup_refresh).
_DERIVED_DELETED_TOO = {KEEPS_STRETCHES: True, ROLLUPS_KEPT: True}


async def get_connection(session: AsyncSession, connection_id: str) -> Connection:
    connection = await session.get(Connection, connection_id)
    if connection is None:
        raise NotFoundError(f"connection {connection_id!r} not found")
    return connection


async def set_paused(session: AsyncSession, connection_id: str, paused: bool) -> Connection:
    """A paused connection keeps its data and is skipped by the scheduler."""
    connection = await get_connection(session, connection_id)
    connection.status = PAUSED if paused else ACTIVE
    await session.flush()
    return connection


async def delete_connection(session: AsyncSession, connection_id: str) -> int:
    """Delete the connection and every record it synced; returns the records deleted."""
    connection = await get_connection(session, connection_id)
    deleted = 0
    for model in SYNCED_MODELS.values():
        result = await session.execute(
            delete(model)
            .where(model.connection_id == connection_id)
            .execution_options(synchronize_session=False, **_DERIVED_DELETED_TOO)
        )
        deleted += int(getattr(result, "rowcount", 0) or 0)
    for bookkeeping in (SyncRun, SyncState, RecordError, CustomerStretch):
        await session.execute(
            delete(bookkeeping)
            .where(bookkeeping.connection_id == connection_id)
            .execution_options(synchronize_session=False)
        )
    for rollup in (DealDay, ActivityDay):  # found by their key's leading workspace
        await session.execute(
            delete(rollup)
            .where(
                rollup.workspace_id == connection.workspace_id,
                rollup.connection_id == connection_id,
            )
            .execution_options(synchronize_session=False)
        )
    await session.execute(
        update(Workspace)
        .where(Workspace.id == connection.workspace_id)
        .values(data_version=Workspace.data_version + 1)
        .execution_options(synchronize_session=False)
    )
    await session.delete(connection)
    await session.flush()
    return deleted


@dataclass(frozen=True, slots=True)
class AccountCheck:
    """What a live check of an account found: ``reason`` the CRM refused the credentials
    (None: accepted), the capabilities discovered, or why discovery could not tell."""

    reason: str | None
    capabilities: Capabilities | None = None
    discovery_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None


async def verify_credentials(
    connector_cls: type[Connector],
    credentials: Mapping[str, str],
    base_url: str | None = None,
    *,
    client: httpx.AsyncClient | None = None,
    egress: EgressPolicy | None = None,
) -> str | None:
    """None when the CRM accepts the credentials, otherwise why it did not (no discovery)."""
    check = await check_account(
        connector_cls,
        credentials,
        base_url,
        client=client,
        egress=egress,
        discover_capabilities=False,
    )
    return check.reason


async def check_account(
    connector_cls: type[Connector],
    credentials: Mapping[str, str],
    base_url: str | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    connection_id: str = "credential-check",
    client: httpx.AsyncClient | None = None,
    egress: EgressPolicy | None = None,
    discover_capabilities: bool = True,
) -> AccountCheck:
    """Check credentials, then discover the account's capabilities (``Connector.discover``).

    Authenticates, then reads the first page of the connector's first stream through the
    engine's HTTP policy: an API-token CRM only refuses a bad token on a real request.
    Nothing is stored, and the message never contains a credential value. An address the
    egress policy refuses raises OutboundRefused (not a reason).
    """
    check_credentials(connector_cls, credentials)
    connector = connector_cls()
    streams = connector.streams()
    own_client = client is None
    http_client = client or create_http_client(timeout=15.0, egress=egress)
    http = SyncHttp(
        client=http_client,
        connector=connector,
        credentials=credentials,
        base_url=base_url or connector.default_base_url,
        limiter=RateLimiter(connector.rate_limit),
        retry=_CHECK_RETRY,
    )
    resolved = resolve_options(connector_cls, options)
    ctx = StreamContext(
        connection_id=connection_id,
        mode=SyncMode.FULL,
        now=utcnow(),
        options=resolved,
        state=connector.new_state(resolved),
    )
    try:
        first = _first_request(streams, ctx)
        try:
            if first is not None:
                await http.send(first)
            else:
                await http.auth()
        except CapabilityUnavailable:
            await http.auth()  # the first stream is optional: the credentials still work
        except OutboundRefused:
            raise
        except SyncError as exc:
            return AccountCheck(reason=str(exc))
        except httpx.HTTPError as exc:
            return AccountCheck(
                reason=f"{connector_cls.name}: {type(exc).__name__} reaching the CRM"
            )
        if not discover_capabilities:
            return AccountCheck(reason=None)
        try:
            found = await discover(connector, http, ctx)
        except DiscoveryFailed as exc:
            return AccountCheck(reason=None, discovery_error=str(exc))
        return AccountCheck(reason=None, capabilities=found)
    finally:
        if own_client:
            await http_client.aclose()


def _first_request(streams: Sequence[Stream], ctx: StreamContext) -> Request | None:
    """The first request of the first stream that has one: an API-token CRM only refuses a
    bad token on a real request, and streams that implement only ``read()`` (whatever
    their place in the order) have no first request to borrow."""
    for stream in streams:
        try:
            return stream.first_request(ctx)
        except NotImplementedError:
            continue
    return None


async def record_check(session: AsyncSession, connection: Connection, check: AccountCheck) -> None:
    """Store what a check discovered on ``connection`` (nothing when it found nothing)."""
    if check.capabilities is None:
        return
    await store_capabilities(
        session, connection.id, check.capabilities, check.capabilities.checked_at or utcnow()
    )
    await session.refresh(connection)


async def check_connection(
    session: AsyncSession,
    settings: Settings,
    classes: Mapping[str, type[Connector]],
    connection_id: str,
    *,
    egress: EgressPolicy | None = None,
) -> tuple[Connection, AccountCheck]:
    """Check a connection's stored credentials live and store the capabilities found.

    The one use case behind ``crmkpi connection check`` and ``verifyCredentials`` with a
    connection id; the caller commits. (The vault is opened once the connection is found: a
    server without a secret key still answers "not found" for another tenant's id.)
    """
    connection = await get_connection(session, connection_id)
    cls = connector_class(classes, connection.connector)
    stored = connection.credentials_encrypted
    check = await check_account(
        cls,
        Vault.from_settings(settings).decrypt(stored) if stored else {},
        connection.base_url,
        options=connection.options,
        connection_id=connection.id,
        egress=egress,
    )
    await record_check(session, connection, check)
    return connection, check


async def delete_workspace(session: AsyncSession, workspace_id: str) -> int:
    """Delete a workspace with its connections and every record; returns records deleted."""
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    connection_ids = (
        await session.scalars(select(Connection.id).where(Connection.workspace_id == workspace_id))
    ).all()
    deleted = 0
    for connection_id in connection_ids:
        deleted += await delete_connection(session, connection_id)
    # Rows left without a connection (imports, targets, FX) go by ON DELETE CASCADE; synced
    # rows are keyed by workspace too, in case a connection row was removed by hand.
    models: list[type[Any]] = [*SYNCED_MODELS.values(), CustomerStretch, DealDay, ActivityDay]
    for model in models:
        await session.execute(
            delete(model)
            .where(model.workspace_id == workspace_id)
            .execution_options(synchronize_session=False, **_DERIVED_DELETED_TOO)
        )
    await session.delete(workspace)
    await session.flush()
    return deleted


async def set_schedule(
    session: AsyncSession,
    connection_id: str,
    schedule: str | EllipsisType | None = ...,
    full_sync: str | EllipsisType | None = ...,
) -> Connection:
    """Store an already validated schedule and/or reconciliation schedule (``...``: keep).

    Validation is core.sync.schedules (``schedule_from_options``, ``parse_full_sync``),
    shared by the CLI and GraphQL so both accept and refuse the same values.
    """
    connection = await get_connection(session, connection_id)
    if not isinstance(schedule, EllipsisType):
        connection.schedule = schedule
    if not isinstance(full_sync, EllipsisType):
        connection.full_sync_schedule = full_sync
    await session.flush()
    return connection


async def schedule_connection(
    session: AsyncSession,
    connection_id: str,
    *,
    every: str | None = None,
    cron: str | None = None,
    off: bool = False,
    full_sync: str | None = None,
) -> Connection:
    """The one use case behind ``crmkpi connection schedule`` and ``setConnectionSchedule``.

    Exactly one of ``every``, ``cron`` or ``off`` sets the schedule; ``full_sync`` alone
    changes only the reconciliation (an interval, a cron expression, 'off' or 'default').
    """
    keep = every is None and cron is None and not off and full_sync is not None
    schedule = ... if keep else schedule_from_options(every, cron, off)
    full = ... if full_sync is None else parse_full_sync(full_sync)
    return await set_schedule(session, connection_id, schedule, full)


async def set_lookback(
    session: AsyncSession, connection_id: str, minutes: int | None
) -> Connection:
    """How far incremental syncs re-read before their last cursor (None: the default).

    The one use case behind ``crmkpi connection lookback`` and ``setConnectionLookback``:
    both front ends only parse input and render the result.
    """
    check_lookback(minutes)
    connection = await get_connection(session, connection_id)
    connection.lookback_minutes = minutes
    await session.flush()
    return connection
