"""HubSpot's error bodies, for the simulator's own errors and for injected faults."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any


def error_body(message: str, category: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's v3 ``Error`` shape."""
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def rate_limit_body(policy: str) -> dict[str, Any]:
    """The body of a HubSpot 429."""
    limit = {"SECONDLY": "secondly", "DAILY": "daily"}.get(policy, "ten_secondly_rolling")
    return {
        "status": "error",
        "message": f"You have reached your {limit} limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
        "requestId": str(uuid.uuid4()),
    }


class HubSpotErrorBodies:
    """ASGI wrapper giving injected faults HubSpot's own bodies and headers.

    The generic fault middleware (core.simulation.faults) answers 429 and 5xx with a
    neutral body; a client of HubSpot sees the ``RATE_LIMIT`` body with the rate-limit
    headers, or HubSpot's error shape. Other answers pass through untouched.
    """

    def __init__(self, app: Any, exhausted: Callable[[], dict[str, str]]) -> None:
        self.app = app
        #: The rate-limit headers of an exhausted allowance.
        self.exhausted = exhausted

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewrite(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] in _REWRITTEN:
                held["start"] = message
                return
            if "start" not in held:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await self._send_rewritten(send, held["start"], b"".join(chunks))

        await self.app(scope, receive, rewrite)

    async def _send_rewritten(self, send: Any, start: dict[str, Any], body: bytes) -> None:
        status = start["status"]
        if body != _INJECTED:  # the simulator's own answer: already HubSpot-shaped
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        headers = [(k, v) for k, v in start["headers"] if k.lower() == b"retry-after"]
        if status == 429:
            payload = rate_limit_body("TEN_SECONDLY_ROLLING")
            headers += [(k.encode(), v.encode()) for k, v in self.exhausted().items()]
        else:
            payload = error_body("internal error", "INTERNAL_ERROR")
        encoded = json.dumps(payload).encode()
        headers += [
            (b"content-type", b"application/json;charset=utf-8"),
            (b"content-length", str(len(encoded)).encode()),
            (b"x-hubspot-correlation-id", payload["correlationId"].encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": encoded})


_REWRITTEN = (429, 500, 502, 503, 504)
_INJECTED = b'{"error": "injected fault"}'
