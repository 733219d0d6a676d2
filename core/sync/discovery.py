"""Capability discovery and bookkeeping, shared by the runner, ``connection add``,
``verifyCredentials`` and ``crmkpi connection check``.

Discovery never fails what called it: a connector whose ``discover`` breaks (network,
an unexpected answer) leaves the stored capabilities as they were and says why in the
log. What a stream learns mid-run (it raised CapabilityUnavailable) is merged into the
stored capabilities at the end of the run, and kept (the stream skipped) until a full
sync or a check discovers afresh: a full sync's discovery replaces what is stored, so a
plan upgrade is noticed by the next full sync.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import httpx
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Connection, Workspace
from core.sync.capabilities import (
    Capabilities,
    Capability,
    CapabilityStatus,
    CapabilityUnavailable,
)
from core.sync.connector import Connector, HttpClient, Stream, StreamContext
from core.sync.errors import SyncError

_log = structlog.get_logger(__name__)


class DiscoveryFailed(SyncError):
    """``Connector.discover`` could not finish; the message says why (no credentials)."""


async def discover(connector: Connector, http: HttpClient, ctx: StreamContext) -> Capabilities:
    """The connector's capabilities now; DiscoveryFailed if it could not tell.

    A CapabilityUnavailable escaping ``discover`` (a probe request with
    ``Request.capability``) is taken as that one capability being unavailable.
    """
    found: Sequence[Capability]
    try:
        found = await connector.discover(http, ctx)
    except CapabilityUnavailable as exc:
        found = [_unavailable(exc)]
    except SyncError as exc:
        raise DiscoveryFailed(str(exc)) from None
    except httpx.HTTPError as exc:
        raise DiscoveryFailed(f"{connector.name}: {type(exc).__name__} reaching the CRM") from None
    except Exception as exc:  # a connector bug must not fail the sync or the check
        _log.exception("sync.discovery_error", connection=ctx.connection_id)
        raise DiscoveryFailed(
            f"{connector.name}: capability discovery broke ({type(exc).__name__})"
        ) from None
    return Capabilities(found, checked_at=ctx.now)


async def discover_or_keep(
    connector: Connector, http: HttpClient, ctx: StreamContext
) -> Capabilities | None:
    """Like :func:`discover`, but None (logged) when discovery failed: keep what is stored."""
    try:
        return await discover(connector, http, ctx)
    except DiscoveryFailed as exc:
        _log.warning(
            "sync.discovery_failed", connection=ctx.connection_id, error=str(exc) or "unknown"
        )
        return None


def _unavailable(exc: CapabilityUnavailable) -> Capability:
    return Capability(exc.key, exc.key, CapabilityStatus.UNAVAILABLE, exc.reason)


def learnt(capabilities: Capabilities, exc: CapabilityUnavailable, stream: str) -> Capabilities:
    """``capabilities`` with what a stream's CapabilityUnavailable taught (keeps the known
    title and KPIs; the stream is added to the capability's streams)."""
    known = capabilities.get(exc.key)
    streams = tuple(dict.fromkeys([*(known.streams if known else ()), stream]))
    return capabilities.with_(
        Capability(
            exc.key,
            known.title if known else exc.key,
            CapabilityStatus.UNAVAILABLE,
            exc.reason,
            streams=streams,
            kpis=known.kpis if known else (),
        )
    )


def skip_reason(stream: Stream, capabilities: Capabilities) -> str | None:
    """Why ``stream`` is skipped: the first capability it requires that is unavailable
    (by ``Stream.requires``, or listed under the capability's ``streams``)."""
    for key in stream.requires:
        if not capabilities.available(key):
            return _reason(capabilities[key])
    for capability in capabilities.unavailable():
        if stream.name in capability.streams:
            return _reason(capability)
    return None


def _reason(capability: Capability) -> str:
    return f"{capability.title}: {capability.reason or 'not available on this account'}"


async def store_capabilities(
    session: AsyncSession,
    connection_id: str,
    capabilities: Capabilities,
    checked_at: datetime | None,
) -> None:
    """Store on the connection (``checked_at`` None: only the capabilities change). When
    what gates KPIs changed (the unavailable capabilities that list KPIs), bump the
    workspace's data version: those answers (core.metrics.capability_gate) are then
    recomputed, not served from a cache. Finding what is available changes no answer."""
    stored = await session.scalar(
        select(Connection.capabilities).where(Connection.id == connection_id)
    )
    values: dict[str, object] = {"capabilities": capabilities.to_json()}
    if checked_at is not None:
        values["capabilities_checked_at"] = checked_at
    await session.execute(update(Connection).where(Connection.id == connection_id).values(values))
    if _gating(Capabilities.from_json(stored)) == _gating(capabilities):
        return
    workspace = select(Connection.workspace_id).where(Connection.id == connection_id)
    await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace.scalar_subquery())
        .values(data_version=Workspace.data_version + 1)
    )


def _gating(capabilities: Capabilities) -> set[tuple[str, str | None, tuple[str, ...]]]:
    """What of the capabilities KPI answers depend on."""
    return {(c.key, c.reason, c.kpis) for c in capabilities.unavailable() if c.kpis}


def stored_capabilities(connection: Connection) -> Capabilities:
    return Capabilities.from_json(
        connection.capabilities, checked_at=connection.capabilities_checked_at
    )
