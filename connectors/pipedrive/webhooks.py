"""Pipedrive webhooks: no signature, only the HTTP Basic credentials set on the webhook
(``http_auth_user`` / ``http_auth_password``). These pure functions check them and read
what changed; the HTTP route and the sync trigger live in ``api/``.

Payloads: v1 ``{"event": "updated.deal", "meta": {"object": "deal", "id": 1, ...}}``;
v2 ``{"meta": {"entity": "deal", "action": "change", "entity_id": "1", ...}, "data": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Pipedrive objects whose change makes an incremental sync worth running.
SYNCED_OBJECTS = frozenset(
    {"deal", "person", "organization", "activity", "note", "lead", "pipeline", "stage", "user"}
)


def verify_basic_auth(authorization: str | None, user: str, password: str) -> bool:
    """True when the ``Authorization`` header carries exactly ``user:password``.

    Constant-time on the credentials; a connection without configured credentials never
    accepts a webhook (an open endpoint would let anyone trigger syncs).
    """
    if not authorization or not user or not password:
        return False
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return False
    expected = f"{user}:{password}".encode()
    return hmac.compare_digest(decoded, expected)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    object: str
    action: str
    remote_id: str | None


def parse_event(payload: Mapping[str, Any]) -> WebhookEvent | None:
    """The object, action and id of a v1 or v2 webhook payload; None when unrecognisable."""
    meta = payload.get("meta")
    if not isinstance(meta, Mapping):
        return None
    if "entity" in meta:  # webhooks v2
        obj, action, remote = meta.get("entity"), meta.get("action"), meta.get("entity_id")
    else:  # webhooks v1: event "updated.deal", meta.action "updated"
        event = str(payload.get("event") or "")
        action, _, obj = event.partition(".")
        obj = meta.get("object") or obj
        action = meta.get("action") or action
        remote = meta.get("id")
    if not obj or not action:
        return None
    return WebhookEvent(str(obj), str(action), None if remote is None else str(remote))


def wants_sync(event: WebhookEvent | None) -> bool:
    """Whether the event concerns an object the sync reads."""
    return event is not None and event.object in SYNCED_OBJECTS
