"""The Salesforce API contract every simulator exchange of the tests is checked against.

Requests: method, path and query parameters must be those of a request of the official
Postman collection (postman/, CC0, see SOURCES.md), or of the two documented resources it
has no entry for (``nextRecordsUrl`` locators of Query/QueryAll). Bodies: the token
request's form (``grant_type=refresh_token`` and the collection's keys; the client may
instead authenticate with HTTP Basic), the Bulk query job's JSON (the collection's keys and
values). Responses: the JSON Schemas of responses.schema.json (written from the
documentation), Salesforce's error array for errors, ``Sforce-Limit-Info`` on data answers,
the Bulk results' CSV headers.

tests/contracts/traffic.py applies :func:`check` to every Salesforce simulator exchange of
the suite.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.contracts.exchange import Exchange
from tests.contracts.schemas import Validator, compiled, parse

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Operation:
    """One request shape: where it comes from, its path pattern, its parameters."""

    name: str
    source: str
    method: str
    path: re.Pattern[str]
    params: frozenset[str]
    required: frozenset[str] = frozenset()
    schema: str | None = None
    #: Data API call: needs a Bearer token and answers with Sforce-Limit-Info.
    data: bool = True
    body: dict[str, Any] = field(default_factory=dict)


def _pattern(url: str) -> re.Pattern[str]:
    """A collection URL as a path pattern (variables become one path segment)."""
    path = urlsplit(url.replace("{{_endpoint}}", "").replace("{{url}}{{site}}", "")).path
    path = re.escape(path.rstrip("/"))
    path = path.replace(re.escape("{{version}}"), r"[0-9]+\.[0-9]")
    path = re.sub(r"<[A-Z_]+>|\\\{\\\{_?\w+\\\}\\\}", r"[^/]+", path)
    return re.compile(f"^{path}/?$")


# name -> (collection file, response schema, data call, required params)
_FROM_COLLECTION: dict[str, tuple[str, str | None, bool, tuple[str, ...]]] = {
    "token": ("auth_refresh_token.json", "token", False, ()),
    "versions": ("rest_versions.json", "versions", False, ()),
    "limits": ("rest_limit.json", "limits", True, ()),
    "describe_global": ("rest_describe_global.json", "describe_global", True, ()),
    "describe": ("rest_sobject_describe.json", "describe", True, ()),
    "get_deleted": ("rest_sobject_get_deleted.json", "get_deleted", True, ("start", "end")),
    "query": ("rest_query.json", "query", True, ("q",)),
    "query_all": ("rest_queryall.json", "query", True, ("q",)),
    "picklist_values": (
        "records_get_values_for_a_picklist_field.json",
        "picklist_values",
        True,
        (),
    ),
    "bulk_create": ("query_create_job_query.json", "bulk_job", True, ()),
    "bulk_status": ("query_get_job_info_query.json", "bulk_job", True, ()),
    "bulk_results": ("query_get_job_query_result.json", None, True, ()),
    "bulk_delete": ("query_delete_job_query.json", None, True, ()),
}


@cache
def operations() -> tuple[Operation, ...]:
    found = []
    for name, (source, schema, data, required) in _FROM_COLLECTION.items():
        request = json.loads((HERE / "postman" / source).read_text())
        params = frozenset(q["key"] for q in request.get("queryParams") or [])
        body: dict[str, Any] = {}
        if request.get("dataMode") == "urlencoded":
            body = {d["key"]: d["value"] for d in request.get("data") or []}
        elif request.get("rawModeData"):
            body = json.loads(request["rawModeData"])
        found.append(
            Operation(
                name,
                source,
                request["method"],
                _pattern(request["url"]),
                params,
                frozenset(required),
                schema,
                data,
                body,
            )
        )
    # Documented, not in the collection: the query locator of ``nextRecordsUrl`` (REST
    # guide, "Query": "use the identifier ... to retrieve the next batch").
    for name in ("query_more", "query_all_more"):
        resource = "query" if name == "query_more" else "queryAll"
        found.append(
            Operation(
                name,
                "REST API Developer Guide, Query (nextRecordsUrl)",
                "GET",
                re.compile(rf"^/services/data/v[0-9]+\.[0-9]/{resource}/[^/]+-[0-9]+$"),
                frozenset(),
                schema="query",
            )
        )
    return tuple(found)


@cache
def _validators() -> dict[str, Validator]:
    document = json.loads((HERE / "responses.schema.json").read_text())
    defs = document["$defs"]
    return {
        name: compiled({**schema, "$defs": defs})
        for name, schema in {**document["operations"], "errors": {"$ref": "#/$defs/errors"}}.items()
    } | {"oauth_error": compiled({"$ref": "#/$defs/oauthError", "$defs": defs})}


def match(method: str, path: str) -> Operation | None:
    """The operation of a request (query locators before the plain query resource)."""
    candidates = [o for o in operations() if o.method == method and o.path.match(path)]
    candidates.sort(key=lambda o: o.name not in ("query_more", "query_all_more"))
    return candidates[0] if candidates else None


def check(exchange: Exchange) -> list[str]:
    """What in this exchange breaks the contract (empty: nothing)."""
    where = f"{exchange.method} {exchange.path}"
    operation = match(exchange.method, exchange.path)
    if operation is None:
        # Unknown resources may be asked (tests do); the answer must be Salesforce's 404.
        return (
            _errors(exchange, where)
            if exchange.status == 404
            else [f"{where}: not in the contract"]
        )
    problems = _request(operation, exchange, where)
    if exchange.status >= 400:
        return problems + _errors(exchange, where, oauth=operation.name == "token")
    if operation.data and "sforce-limit-info" not in exchange.response_headers:
        problems.append(f"{where}: no Sforce-Limit-Info header")
    if operation.name == "bulk_results":
        for header in ("sforce-locator", "sforce-numberofrecords"):
            if header not in exchange.response_headers:
                problems.append(f"{where}: no {header} header")
        if not exchange.response_headers.get("content-type", "").startswith("text/csv"):
            problems.append(f"{where}: results are not text/csv")
        return problems
    if operation.schema is None:
        return problems
    try:
        body = parse(exchange.response)
    except ValueError:
        return [*problems, f"{where}: answer is not JSON"]
    validator = _validators()[operation.schema]
    problems += [
        f"{where}: {_json_path(e.instance_path)}: {e.message}"[:300]
        for e in validator.iter_errors(body)
    ]
    return problems


def _request(operation: Operation, exchange: Exchange, where: str) -> list[str]:
    params = parse_qs(exchange.query, keep_blank_values=True)
    problems = [f"{where}: unknown parameter {p!r}" for p in params if p not in operation.params]
    problems += [f"{where}: missing parameter {p!r}" for p in operation.required if p not in params]
    if operation.data and not exchange.headers.get("authorization", "").startswith("Bearer "):
        problems.append(f"{where}: no Bearer token")
    if not exchange.body and exchange.status >= 300:
        return problems  # answered before the body was read (401, injected faults)
    if operation.name == "token":
        form = {k: v[0] for k, v in parse_qs(exchange.body.decode()).items()}
        basic = exchange.headers.get("authorization", "").startswith("Basic ")
        allowed = set(operation.body)
        problems += [f"{where}: unknown form field {k!r}" for k in form if k not in allowed]
        if form.get("grant_type") != "refresh_token":
            problems.append(f"{where}: grant_type is not refresh_token")
        needed = {"refresh_token"} | (set() if basic else {"client_id", "client_secret"})
        problems += [f"{where}: missing form field {k!r}" for k in needed if k not in form]
    if operation.name == "bulk_create":
        problems += _bulk_body(operation, exchange.body, where)
    return problems


def _bulk_body(operation: Operation, raw: bytes, where: str) -> list[str]:
    try:
        body = parse(raw)
    except ValueError:
        return [f"{where}: job body is not JSON: {raw[:80]!r}"]
    problems = [f"{where}: unknown job field {k!r}" for k in body if k not in operation.body]
    for key, documented in operation.body.items():
        choices = {c.strip() for c in str(documented).split("|")}
        if key in body and len(choices) > 1 and body[key] not in choices:
            problems.append(f"{where}: {key}={body[key]!r} not one of {sorted(choices)}")
    if body.get("contentType", "CSV") != "CSV" or not body.get("query"):
        problems.append(f"{where}: a query job needs a query and CSV")
    return problems


def _errors(exchange: Exchange, where: str, *, oauth: bool = False) -> list[str]:
    try:
        body = parse(exchange.response)
    except ValueError:
        return [f"{where}: error {exchange.status} is not JSON"]
    validator = _validators()["oauth_error" if oauth else "errors"]
    return [f"{where}: error body {e.message}"[:300] for e in validator.iter_errors(body)]


def _json_path(path: Any) -> str:
    """``$.records[0].Id`` for an instance path ``["records", 0, "Id"]``."""
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
