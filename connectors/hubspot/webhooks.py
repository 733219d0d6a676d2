"""HubSpot webhook requests: v3 signature check and what the events ask to sync.

HubSpot signs each delivery with ``X-HubSpot-Signature-v3`` =
``base64(HMAC-SHA256(client_secret, method + uri + body + timestamp))`` where ``timestamp``
is ``X-HubSpot-Request-Timestamp`` (epoch ms) and ``uri`` the full request URL with a few
characters URL-decoded. Requests older than five minutes are refused (replays). The HTTP
route (``POST /webhooks/hubspot/{connection_id}``) and the sync trigger live in ``api/``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
MAX_AGE = timedelta(minutes=5)
#: Percent-encodings HubSpot decodes in the URI before signing.
_DECODED = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}
#: Webhook object type (``deal.propertyChange`` -> ``deal``) -> the stream to sync.
EVENT_STREAMS = {
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
    "lead": "leads",
}


class WebhookRejected(ValueError):
    """The request is not a genuine, fresh HubSpot delivery; the reason says why."""


def _uri(uri: str) -> str:
    for encoded, plain in _DECODED.items():
        uri = uri.replace(encoded, plain).replace(encoded.lower(), plain)
    return uri


def signature_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The signature HubSpot sends for this request."""
    message = method.upper().encode() + _uri(uri).encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_signature_v3(
    secret: str,
    *,
    method: str,
    uri: str,
    body: bytes,
    headers: Mapping[str, str],
    now: datetime | None = None,
) -> None:
    """Raise WebhookRejected unless the request is signed with ``secret`` and fresh.

    ``headers`` must look names up case-insensitively (Starlette and httpx headers do).
    """
    signature = headers.get(SIGNATURE_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookRejected(f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        sent = datetime.fromtimestamp(int(timestamp) / 1000, UTC)
    except ValueError:
        raise WebhookRejected(f"{TIMESTAMP_HEADER} is not epoch milliseconds") from None
    now = now or datetime.now(UTC)
    if now - sent > MAX_AGE:
        raise WebhookRejected("request is older than 5 minutes")
    if sent - now > MAX_AGE:
        raise WebhookRejected("request timestamp is in the future")
    expected = signature_v3(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected, signature):
        raise WebhookRejected("signature does not match")


def streams_to_sync(body: bytes) -> set[str]:
    """Streams touched by a delivery (a JSON array of events); unknown types are ignored."""
    try:
        events: Any = json.loads(body)
    except ValueError:
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(events, list):
        raise WebhookRejected("body is not a list of events")
    found = set()
    for event in events:
        kind = str(event.get("subscriptionType", "")) if isinstance(event, Mapping) else ""
        stream = EVENT_STREAMS.get(kind.split(".", 1)[0])
        if stream:
            found.add(stream)
    return found
