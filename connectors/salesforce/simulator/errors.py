"""Salesforce's own error answers: ``[{"message", "errorCode"}]`` bodies with the org's
``Sforce-Limit-Info``, for the routes and for injected faults (``FaultMiddleware(error=)``).

The REST API reports its daily allocation as 403 ``REQUEST_LIMIT_EXCEEDED``, never 429;
an injected 429 is rendered the same way (what a client of Salesforce would see when
the simulator is told to throttle). 5xx answers carry ``UNKNOWN_EXCEPTION`` /
``SERVER_UNAVAILABLE`` as the API's error code list has them.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.responses import JSONResponse, Response

#: Status -> (errorCode, message) of an injected fault, as Salesforce sends them.
_FAULTS: dict[int, tuple[int, str, str]] = {
    429: (
        403,
        "REQUEST_LIMIT_EXCEEDED",
        "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
    ),
    500: (500, "UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId"),
    502: (502, "SERVER_UNAVAILABLE", "Server temporarily unavailable"),
    503: (503, "SERVER_UNAVAILABLE", "Server temporarily unavailable"),
}
NOT_FOUND = ("NOT_FOUND", "The requested resource does not exist")


def body(code: str, message: str) -> bytes:
    return json.dumps([{"message": message, "errorCode": code}]).encode()


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse([{"message": message, "errorCode": code}], status, headers=headers)


def fault_renderer(usage: Callable[[], str]) -> Callable[[int], tuple[bytes, dict[str, str]]]:
    """The ``FaultMiddleware`` hook: Salesforce's body and headers for an injected status.

    An injected 429 becomes what Salesforce sends for an exhausted allocation (the status
    the middleware writes stays the injected one; the body says ``REQUEST_LIMIT_EXCEEDED``).
    """

    def render(status: int) -> tuple[bytes, dict[str, str]]:
        _, code, message = _FAULTS.get(status, (status, "UNKNOWN_EXCEPTION", "Unexpected error"))
        return body(code, message), {
            "Content-Type": "application/json;charset=UTF-8",
            "Sforce-Limit-Info": usage(),
        }

    return render
