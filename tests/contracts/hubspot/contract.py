"""Every exchange with the HubSpot simulator checked against HubSpot's documented contract.

:class:`ContractRecorder` wraps the simulator's ASGI app: each request (path, query
parameters, JSON body) and each answer (status, headers, JSON body) is checked against the
schemas of ``hubspot.schema.json`` (see SOURCES.md) and the documented request limits;
what breaks them is collected in ``violations``. The HubSpot end-to-end tests assert that
list is empty, so a simulator drifting from HubSpot's shapes, or a connector request HubSpot
would refuse, fails them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jsonschema_rs

SCHEMA_FILE = Path(__file__).with_name("hubspot.schema.json")
#: Limits of ``limit`` on list endpoints (with ``propertiesWithHistory``: 50).
LIST_LIMIT, HISTORY_LIMIT, OWNERS_LIMIT = 100, 50, 500
#: Filters in all filter groups of one search.
SEARCH_FILTERS = 18
RATE_LIMIT_HEADERS = ("x-hubspot-ratelimit-max", "x-hubspot-ratelimit-remaining")

_ROUTES: tuple[tuple[str, str, str | None, str], ...] = (
    # method, path pattern, request schema, response schema
    ("GET", r"/crm/v3/objects/[^/]+", None, "ListPage"),
    ("POST", r"/crm/v3/objects/[^/]+/search", "SearchRequest", "SearchPage"),
    ("POST", r"/crm/v3/objects/[^/]+/batch/read", "BatchReadRequest", "BatchObjects"),
    (
        "POST",
        r"/crm/v4/associations/[^/]+/[^/]+/batch/read",
        "AssociationsBatchRequest",
        "AssociationsBatch",
    ),
    ("GET", r"/crm/v3/owners", None, "OwnersPage"),
    ("GET", r"/crm/v3/pipelines/[^/]+", None, "Pipelines"),
    ("GET", r"/crm/v3/properties/[^/]+", None, "Properties"),
    ("GET", r"/settings/v3/currencies/exchange-rates", None, "ExchangeRatesPage"),
    ("GET", r"/settings/v3/currencies/company-currency", None, "CompanyCurrency"),
    ("POST", r"/oauth/v1/token", None, "Token"),
)


@cache
def _validator(name: str) -> Any:
    definitions = json.loads(SCHEMA_FILE.read_text())
    return jsonschema_rs.validator_for({**definitions, "$ref": f"#/$defs/{name}"})


def problems(name: str, instance: Any) -> list[str]:
    """Why ``instance`` breaks schema ``name`` (empty when it does not)."""
    return [
        f"{name}: {e.message} at {list(e.instance_path)}"
        for e in _validator(name).iter_errors(instance)
    ]


def _route(method: str, path: str) -> tuple[str | None, str] | None:
    for verb, pattern, request, response in _ROUTES:
        if verb == method and re.fullmatch(pattern, path):
            return request, response
    return None


def _query_problems(path: str, query: Mapping[str, list[str]]) -> list[str]:
    found = []
    limit = (query.get("limit") or [None])[-1]
    if limit is not None:
        if not limit.isdigit():
            return [f"{path}: limit {limit!r} is not a number"]
        if path.startswith("/crm/v3/objects/"):
            maximum = HISTORY_LIMIT if query.get("propertiesWithHistory") else LIST_LIMIT
        elif path == "/crm/v3/owners":
            maximum = OWNERS_LIMIT
        else:
            maximum = LIST_LIMIT
        if not 0 < int(limit) <= maximum:
            found.append(f"{path}: limit {limit} outside 1..{maximum}")
    for flag in query.get("archived") or ():
        if flag.lower() not in ("true", "false"):
            found.append(f"{path}: archived={flag!r} is not a boolean")
    return found


def check(
    method: str,
    path: str,
    query_string: str,
    request_body: bytes,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> list[str]:
    """Every way one exchange breaks HubSpot's contract."""
    found: list[str] = []
    query = parse_qs(query_string, keep_blank_values=True)
    route = _route(method, path.rstrip("/") or "/")
    if route is not None and route[0] is not None and request_body:
        sent = json.loads(request_body)
        found += problems(route[0], sent)
        if route[0] == "SearchRequest" and isinstance(sent, Mapping):
            groups = sent.get("filterGroups") or []
            total = sum(len(g.get("filters") or []) for g in groups if isinstance(g, Mapping))
            if total > SEARCH_FILTERS:
                found.append(f"{path}: {total} filters (at most {SEARCH_FILTERS})")
    if route is not None and method == "GET":
        found += _query_problems(path, query)
    if not body:  # a dropped connection (fault injection): nothing was answered
        return found
    if "json" not in headers.get("content-type", ""):
        return [*found, f"{method} {path}: {status} answered {headers.get('content-type')}"]
    try:
        answer = json.loads(body)
    except ValueError:
        return [*found, f"{method} {path}: {status} answer is not JSON"]
    if status == 429:
        found += problems("RateLimitError", answer)
    elif status >= 400:
        found += problems("Error", answer)
    elif route is None:
        found.append(f"{method} {path}: no contract for this route")
    else:
        found += problems(route[1], answer)
    return [f"{method} {path}: {p}" for p in found]


class ContractRecorder:
    """ASGI middleware checking every exchange (see :func:`check`)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.violations: list[str] = []
        self.exchanges = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent: list[bytes] = []
        start: dict[str, Any] = {}
        answer: list[bytes] = []

        async def recording_receive() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                sent.append(message.get("body", b""))
            return message

        async def recording_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._check(scope, b"".join(sent), start, b"".join(answer))
            await send(message)

        await self.app(scope, recording_receive, recording_send)

    def _check(self, scope: Any, request: bytes, start: Mapping[str, Any], body: bytes) -> None:
        self.exchanges += 1
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        if len(body) < int(headers.get("content-length") or len(body)):
            body = b""  # cut short on purpose (a dropped connection)
        try:
            self.violations += check(
                scope["method"],
                scope["path"],
                scope.get("query_string", b"").decode(),
                request,
                int(start.get("status", 0)),
                headers,
                body,
            )
        except Exception as exc:  # a broken check must fail the test, not the server
            self.violations.append(f"{scope['method']} {scope['path']}: check failed: {exc!r}")
