"""The optional outgoing webhook when a sync ends, signed with HMAC-SHA256.

A workspace may register one URL. After every run (whatever its status, from the embedded
scheduler, a worker or the CLI) a JSON payload is POSTed to it with::

    X-Crmkpi-Event: sync.finished
    X-Crmkpi-Timestamp: <unix seconds>
    X-Crmkpi-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

The secret is generated here, shown once, and stored encrypted with the credentials' keys
(core.secrets.Vault). Delivery retries a few times with backoff (tenacity) and then gives
up: a receiver that is down never fails, delays much, or repeats the sync itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from core.egress import EgressPolicy, egress_client
from core.errors import NotFoundError, ValidationError
from core.models import Connection, SyncRun, SyncWebhook, Workspace, utcnow
from core.secrets import Vault

_log = structlog.get_logger(__name__)
EVENT = "sync.finished"
ATTEMPTS = 3
TIMEOUT_SECONDS = 5.0
_COUNTS = ("fetched", "inserted", "updated", "deleted", "quarantined")


class DeliveryFailed(Exception):
    """The receiver answered with a status worth retrying (5xx, 429)."""


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL of at most 500 characters."""
    value = url.strip()
    problem = ValidationError(f"webhook url {url[:100]!r} must be an absolute http(s) URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise problem from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 500:
        raise problem
    return value


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value a receiver recomputes to trust a delivery."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


async def set_sync_webhook(session: AsyncSession, vault: Vault, workspace_id: str, url: str) -> str:
    """Register (or replace) the workspace's webhook; returns the new secret (shown once)."""
    url = check_webhook_url(url)
    if await session.get(Workspace, workspace_id) is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    secret = "whsec_" + secrets.token_urlsafe(32)
    encrypted = vault.encrypt({"secret": secret})
    row = await session.get(SyncWebhook, workspace_id)
    if row is None:
        session.add(SyncWebhook(workspace_id=workspace_id, url=url, secret_encrypted=encrypted))
    else:
        row.url, row.secret_encrypted, row.created_at = url, encrypted, utcnow()
    await session.flush()
    return secret


async def clear_sync_webhook(session: AsyncSession, workspace_id: str) -> bool:
    """Remove the workspace's webhook; False when it had none (or is not readable)."""
    if await session.get(Workspace, workspace_id) is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    result = await session.execute(
        delete(SyncWebhook).where(SyncWebhook.workspace_id == workspace_id)
    )
    return bool(getattr(result, "rowcount", 0))


def sync_payload(run: SyncRun, connection: Connection) -> dict[str, Any]:
    """What a receiver learns: the connection, the run, its status, counts and times."""
    streams = run.stream_stats or {}
    totals = {
        name: sum(int(s.get(name) or 0) for s in streams.values() if isinstance(s, dict))
        for name in _COUNTS
    }
    return {
        "event": EVENT,
        "workspace_id": run.workspace_id,
        "connection_id": run.connection_id,
        "connector": connection.connector,
        "connection_name": connection.name,
        "run_id": run.id,
        "mode": run.mode,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "records": totals,
        "streams": streams,
        "requests": run.requests,
        "retries": run.retries,
        "error": run.error,
    }


async def _post(client: httpx.AsyncClient, url: str, body: bytes, secret: str) -> int:
    timestamp = int(time.time())
    response = await client.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Crmkpi-Event": EVENT,
            "X-Crmkpi-Timestamp": str(timestamp),
            "X-Crmkpi-Signature": sign(secret, timestamp, body),
        },
    )
    if response.status_code >= 500 or response.status_code == 429:
        raise DeliveryFailed(f"HTTP {response.status_code}")
    return response.status_code


async def deliver_sync_webhook(
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    run_id: int,
    *,
    wait_base: float = 0.5,
    egress: EgressPolicy | None = None,
) -> bool:
    """POST the run's payload to its workspace's webhook, if any; True when delivered.

    The POST goes through the egress policy of the connections' own requests (core.egress):
    the URL was checked when set, but its name may resolve elsewhere by now, so every
    delivery checks the address it connects to, and never follows a redirect.
    Never raises: a missing, slow or failing receiver is logged and the sync stays as it was.
    """
    try:
        async with sessionmaker() as session:
            found = (
                await session.execute(
                    select(SyncRun, Connection, SyncWebhook)
                    .join(Connection, Connection.id == SyncRun.connection_id)
                    .join(SyncWebhook, SyncWebhook.workspace_id == SyncRun.workspace_id)
                    .where(SyncRun.id == run_id)
                )
            ).first()
        if found is None:
            return False
        run, connection, hook = found
        secret = vault.decrypt(hook.secret_encrypted)["secret"]
        body = json.dumps(sync_payload(run, connection), sort_keys=True).encode()
        policy = egress or EgressPolicy.from_settings()
        async with egress_client(policy, timeout=TIMEOUT_SECONDS, max_connections=2) as client:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(ATTEMPTS),
                wait=wait_exponential(multiplier=wait_base, max=wait_base * 4),
                retry=retry_if_exception_type((httpx.HTTPError, DeliveryFailed)),
                reraise=True,
            ):
                with attempt:
                    status = await _post(client, hook.url, body, secret)
        _log.info("sync.webhook_delivered", run_id=run_id, status=status)
        return status < 400
    except Exception as exc:  # a webhook must never fail the sync it reports
        _log.warning("sync.webhook_failed", run_id=run_id, error=f"{type(exc).__name__}: {exc}")
        return False
