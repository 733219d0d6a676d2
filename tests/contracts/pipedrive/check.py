"""Pipedrive's documented contract as JSON Schemas (``requests.json``, ``responses.json``;
how they were derived: SOURCES.md), and an ASGI middleware that checks every request a
test sends to the simulator and every answer it gets against them.

Routes are keyed ``GET /v1/...`` (``/api/v1/...`` is the same route) or
``GET /api/v2/...``. A request to a documented route must use documented query
parameters with well-formed values; a 2xx answer must match the route's response schema,
any other answer Pipedrive's error envelope.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jsonschema import Draft202012Validator

HERE = Path(__file__).resolve().parent
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
App = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]

_FLOW = re.compile(r"^/v1/deals/[0-9]+/flow$")
_LEAD = re.compile(r"^/v1/leads/[0-9a-f]{8}-[0-9a-f-]{27}$")


@cache
def _documents() -> tuple[dict[str, Any], dict[str, Any]]:
    requests = json.loads((HERE / "requests.json").read_text())
    responses = json.loads((HERE / "responses.json").read_text())
    return requests, responses


def route_of(method: str, path: str) -> str | None:
    """The documented route of a request, or None when it is not one the schemas cover."""
    if path.startswith("/api/v1/"):
        path = path[len("/api") :]
    if _FLOW.match(path):
        path = "/v1/deals/{id}/flow"
    elif _LEAD.match(path):
        path = "/v1/leads/{id}"
    key = f"{method} {path}"
    return key if key in _documents()[1]["responses"] else None


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    responses = _documents()[1]
    return Draft202012Validator({**schema, "$defs": responses["$defs"]})


def request_errors(route: str, query: list[tuple[str, str]]) -> list[str]:
    """What is wrong with the query of a request to ``route`` (repeated keys included)."""
    names = [k for k, _ in query]
    errors = [f"{route}: {k} given twice" for k in set(names) if names.count(k) > 1]
    schema = _documents()[0]["requests"][route]
    found = _validator(schema).iter_errors(dict(query))
    errors.extend(f"{route} request: {e.message}" for e in found)
    return errors


def response_errors(route: str | None, status: int, body: bytes) -> list[str]:
    """What is wrong with an answer (``route`` None: an undocumented route, which must
    still answer the error envelope)."""
    try:
        data = json.loads(body)
    except ValueError:
        return [f"{route} {status}: the body is not JSON"]
    if 200 <= status < 300:
        if route is None:
            return [f"{status} from a route the contract does not document"]
        schema = _documents()[1]["responses"][route]
    else:
        schema = _documents()[1]["error"]
    found = sorted(_validator(schema).iter_errors(data), key=lambda e: list(e.path))
    return [f"{route} {status} {list(e.path)[:4]}: {e.message[:200]}" for e in found[:5]]


@dataclass
class ContractRecorder:
    """Wraps an ASGI app; collects every contract violation of the traffic through it."""

    app: App
    violations: list[str] = field(default_factory=list)
    checked: int = 0

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith(("/oauth/", "/_sim/")):
            await self.app(scope, receive, send)
            return
        route = route_of(scope["method"], scope["path"])
        query = parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        if route is not None:
            self.violations.extend(request_errors(route, query))
        status = 0
        chunks: list[bytes] = []
        complete = False

        async def recording_send(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
                complete = not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        except BaseException:
            raise  # a dropped connection (fault injection): nothing whole to check
        if not complete:
            return  # the body was cut short on purpose (``drop`` faults)
        self.checked += 1
        self.violations.extend(response_errors(route, status, b"".join(chunks)))
