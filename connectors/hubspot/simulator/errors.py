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


def renderer(
    exhausted: Callable[[], dict[str, str]],
) -> Callable[[int], tuple[bytes, dict[str, str]]]:
    """The FaultMiddleware ``error=`` hook: an injected 429 is HubSpot's ``RATE_LIMIT``
    body with the ``X-HubSpot-RateLimit-*`` headers of an exhausted allowance; a 5xx is
    HubSpot's error shape."""

    def render(status: int) -> tuple[bytes, dict[str, str]]:
        headers: dict[str, str] = {}
        if status == 429:
            payload = rate_limit_body("TEN_SECONDLY_ROLLING")
            headers.update(exhausted())
        else:
            payload = error_body("internal error", "INTERNAL_ERROR")
        headers["content-type"] = "application/json;charset=utf-8"
        headers["x-hubspot-correlation-id"] = payload["correlationId"]
        return json.dumps(payload).encode(), headers

    return render
