"""Pipedrive's own error answers: the JSON envelope of every failure and the rate-limit
headers, for the simulator's handlers and for the shared fault injection.

The envelope is the documented one (``{"success": false, "error", "error_info",
"data": null, "additional_data": null}``, with ``errorCode`` on auth, permission and limit
errors); answers carry ``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` (seconds), and
429s a ``Retry-After``.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."

#: Messages of the statuses the fault injection (and the simulator itself) answer with.
MESSAGES = {
    400: "Bad request",
    401: "unauthorized access",
    402: "Payment required: this feature is not available on your company's plan",
    403: "You do not have permission to access this resource",
    404: "Not found",
    405: "Method not allowed",
    429: "Request over limit",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
}


class ApiError(Exception):
    """A failure a handler answers with Pipedrive's envelope."""

    def __init__(self, status: int, message: str | None = None):
        super().__init__(message or MESSAGES.get(status, "Error"))
        self.status = status
        self.message = message or MESSAGES.get(status, "Error")


def error_body(status: int, message: str | None = None) -> bytes:
    body = {
        "success": False,
        "error": message or MESSAGES.get(status, "Error"),
        "errorCode": status,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def error_response(status: int, message: str | None, headers: dict[str, str]) -> Response:
    return Response(
        error_body(status, message),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def render_fault(status: int) -> tuple[bytes, dict[str, str]]:
    """Body and headers of an injected fault (the FaultMiddleware ``error=`` hook): the
    envelope, and the rate-limit headers a 429 or 5xx of Pipedrive carries."""
    headers = {
        "content-type": "application/json",
        "x-ratelimit-limit": "80",
        "x-ratelimit-remaining": "0" if status == 429 else "79",
        "x-ratelimit-reset": "2",
    }
    return error_body(status), headers


async def not_found(request: Request, exc: Exception) -> Response:
    """Unknown routes: a JSON 404 in the envelope, as Pipedrive answers them."""
    return error_response(404, "Unknown method .", {})


async def not_allowed(request: Request, exc: Exception) -> Response:
    """A known path with a method it does not serve: the envelope too, never text."""
    return error_response(405, f"Method {request.method} is not allowed here", {})
