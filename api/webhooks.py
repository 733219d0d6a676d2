"""Webhook routing: ``POST /webhooks/{connector}/{connection_id}``.

The connector verifies the delivery (HubSpot's v3 signature and 5-minute freshness,
Pipedrive's Basic credentials: ``Connector.webhook_wants_sync``); this module only finds the
connection and asks for an incremental sync, debounced so a burst of events gives one run.
An unknown connection, or one of another connector, answers 404 like any missing id.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from core.errors import ConfigurationError
from core.models import Connection
from core.plugins import connector_classes
from core.secrets import Vault
from core.sync.connector import WebhookDelivery, WebhookRejected

router = APIRouter()
_log = structlog.get_logger(__name__)
#: Deliveries within this many seconds of the first one share its sync.
DEBOUNCE_SECONDS = 10.0
MAX_BODY_BYTES = 1_000_000


async def _read_limited(request: Request) -> bytes | None:
    """The body, or None as soon as it passes MAX_BODY_BYTES: counted while it streams in
    (a chunked body has no Content-Length), never read whole first."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/webhooks/{connector}/{connection_id}", include_in_schema=False)
async def receive(connector: str, connection_id: str, request: Request) -> JSONResponse:
    state: Any = request.app.state.crmkpi
    body = await _read_limited(request)
    if body is None:
        return JSONResponse(  # and close: the rest of the body is not read
            {"error": f"body over {MAX_BODY_BYTES} bytes"},
            status_code=413,
            headers={"Connection": "close"},
        )
    async with state.sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
    cls = connector_classes(state.plugins).get(connector)
    if connection is None or cls is None or connection.connector != connector:
        return JSONResponse({"error": "not found"}, status_code=404)
    try:
        vault = Vault.from_settings(state.settings)
    except ConfigurationError:
        return JSONResponse({"error": "server has no secret key"}, status_code=503)
    credentials = (
        vault.decrypt(connection.credentials_encrypted) if connection.credentials_encrypted else {}
    )
    delivery = WebhookDelivery(
        method=request.method, url=str(request.url), headers=request.headers, body=body
    )
    try:
        wanted = cls.webhook_wants_sync(delivery, credentials)
    except WebhookRejected as exc:
        _log.warning("webhook.rejected", connection_id=connection_id, reason=str(exc))
        return JSONResponse({"error": f"rejected: {exc}"}, status_code=401)
    if not wanted or connection.status != "ACTIVE":
        return JSONResponse({"queued": False}, status_code=202)
    queued = await state.syncs.launch_debounced(connection_id, DEBOUNCE_SECONDS)
    _log.info("webhook.accepted", connection_id=connection_id, queued=queued)
    return JSONResponse({"queued": queued}, status_code=202)
