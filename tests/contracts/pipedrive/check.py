"""Pipedrive's documented contract as JSON Schemas (``requests.json``, ``responses.json``;
how they were derived: SOURCES.md), and :func:`check`, which tests one exchange with the
simulator against them (tests/contracts/traffic.py applies it to every exchange of the
suite).

Routes are keyed ``GET /v1/...`` (``/api/v1/...`` is the same route) or
``GET /api/v2/...``. A request to a documented route must use documented query
parameters with well-formed values; a 2xx answer must match the route's response schema,
any other answer Pipedrive's error envelope.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from tests.contracts.exchange import Exchange
from tests.contracts.schemas import Validator, compiled, parse

HERE = Path(__file__).resolve().parent

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


@cache
def _validator(kind: str, key: str) -> Validator:
    """The compiled schema of a route's request (``kind`` "requests") or response
    ("responses"), or of the error envelope (``kind`` "error")."""
    requests, responses = _documents()
    if kind == "error":
        schema = responses["error"]
    elif kind == "requests":
        schema = requests["requests"][key]
    else:
        schema = responses["responses"][key]
    return compiled({**schema, "$defs": responses["$defs"]})


def request_errors(route: str, query: list[tuple[str, str]]) -> list[str]:
    """What is wrong with the query of a request to ``route`` (repeated keys included)."""
    names = [k for k, _ in query]
    errors = [f"{route}: {k} given twice" for k in set(names) if names.count(k) > 1]
    found = _validator("requests", route).iter_errors(dict(query))
    errors.extend(f"{route} request: {e.message}" for e in found)
    return errors


def response_errors(route: str | None, status: int, body: bytes) -> list[str]:
    """What is wrong with an answer (``route`` None: an undocumented route, which must
    still answer the error envelope)."""
    try:
        data = parse(body)
    except ValueError:
        return [f"{route} {status}: the body is not JSON"]
    if 200 <= status < 300:
        if route is None:
            return [f"{status} from a route the contract does not document"]
        validator = _validator("responses", route)
    else:
        validator = _validator("error", "")
    found = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.instance_path])
    return [f"{route} {status} {list(e.instance_path)[:4]}: {e.message[:200]}" for e in found[:5]]


def check(exchange: Exchange) -> list[str]:
    """What in one exchange breaks the contract (OAuth and the simulator's own ``/_sim/``
    routes are not Pipedrive's API)."""
    if exchange.path.startswith(("/oauth/", "/_sim/")):
        return []
    route = route_of(exchange.method, exchange.path)
    query = parse_qsl(exchange.query, keep_blank_values=True)
    errors = request_errors(route, query) if route is not None else []
    return errors + response_errors(route, exchange.status, exchange.response)
