"""HubSpot's documented contract for one exchange with its simulator.

:func:`check` tests each request (path, query parameters, JSON body) and each answer
(status, headers, JSON body) against the schemas of ``hubspot.schema.json`` (see
SOURCES.md) and the documented request limits. tests/contracts/traffic.py applies it to
every exchange of every HubSpot simulator in the suite, so a simulator drifting from
HubSpot's shapes, or a connector request HubSpot would refuse, fails the test that made it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.contracts.exchange import Exchange
from tests.contracts.schemas import Validator, compiled, parse

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
#: The documented query parameters of each GET route (by its response schema): anything
#: else, a misspelt ``propertys`` or ``archive``, HubSpot ignores, so a request relying on
#: it silently reads something else.
_QUERY_PARAMS: dict[str, frozenset[str]] = {
    "ListPage": frozenset(
        {"limit", "after", "properties", "propertiesWithHistory", "associations", "archived"}
    ),
    "OwnersPage": frozenset({"after", "archived", "email", "limit"}),
    "Pipelines": frozenset(),
    "Properties": frozenset({"archived", "dataSensitivity", "locale", "properties"}),
    "ExchangeRatesPage": frozenset({"after", "limit"}),
    "CompanyCurrency": frozenset(),
}


@cache
def _validator(name: str) -> Validator:
    definitions = json.loads(SCHEMA_FILE.read_text())
    return compiled({**definitions, "$ref": f"#/$defs/{name}"})


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


def check(exchange: Exchange) -> list[str]:
    """Every way one exchange breaks HubSpot's contract."""
    method, path, status = exchange.method, exchange.path, exchange.status
    found: list[str] = []
    query = parse_qs(exchange.query, keep_blank_values=True)
    route = _route(method, path.rstrip("/") or "/")
    if route is not None and route[0] is not None and exchange.body:
        sent = parse(exchange.body)
        found += problems(route[0], sent)
        if route[0] == "SearchRequest" and isinstance(sent, Mapping):
            groups = sent.get("filterGroups") or []
            total = sum(len(g.get("filters") or []) for g in groups if isinstance(g, Mapping))
            if total > SEARCH_FILTERS:
                found.append(f"{total} filters (at most {SEARCH_FILTERS})")
    if route is not None and method == "GET":
        found += _query_problems(path, query)
        documented = _QUERY_PARAMS.get(route[1], frozenset())
        found += [f"undocumented query parameter {p!r}" for p in query if p not in documented]
    content_type = exchange.response_headers.get("content-type", "")
    if "json" not in content_type:
        return [*found, f"answered {content_type or 'no content type'}, not JSON"]
    try:
        answer = parse(exchange.response)
    except ValueError:
        return [*found, "the answer is not JSON"]
    if status == 429:
        found += problems("RateLimitError", answer)
    elif status >= 400:
        found += problems("Error", answer)
    elif route is None:
        found.append("no contract for this route")
    else:
        found += problems(route[1], answer)
    return found
