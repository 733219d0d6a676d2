"""Incremental reads through the CRM search API, past its 10,000-result cap.

A search query never returns more than 10,000 records (``after`` >= 10000 is a 400), and
takes a single sort. Reads go in two phases, both encoded in the request body so the next
request follows from the previous one and its page alone:

- **range**: ``modified >= since`` (and ``< now``), sorted by ``modified`` ascending, until
  the cap is reached. Records sharing the last timestamp seen ``T`` may straddle the cap, so
- **tie**: the records at exactly ``T`` are read by ``hs_object_id`` ascending (restarting
  after the last id whenever the cap is reached again: a bulk edit can put more than 10,000
  records on one timestamp), then the range phase goes on with ``modified > T``.

Some records at ``T`` are read twice; upserts are idempotent. No window is ever re-read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot.values import parse_datetime
from core.sync.connector import Request

_ID = "hs_object_id"


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def is_search(request: Request) -> bool:
    return request.method == "POST" and request.path.endswith("/search")


def _body(
    properties: Sequence[str],
    filters: list[dict[str, str]],
    sort: str,
) -> dict[str, Any]:
    return {
        "filterGroups": [{"filters": filters}],
        "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
        "properties": list(properties),
        "limit": settings.SEARCH_PAGE_SIZE,
    }


def _range(
    obj: settings.ObjectType,
    properties: Sequence[str],
    lower: int,
    operator: str,
    upper: int | None,
) -> Request:
    filters = [{"propertyName": obj.modified_property, "operator": operator, "value": str(lower)}]
    if upper is not None:
        filters.append(
            {"propertyName": obj.modified_property, "operator": "LT", "value": str(upper)}
        )
    body = _body(properties, filters, obj.modified_property)
    return Request("POST", f"{settings.OBJECTS_PATH}/{obj.name}/search", json=body)


def _tie(
    obj: settings.ObjectType,
    properties: Sequence[str],
    at: int,
    after_id: int,
    upper: int | None,
) -> Request:
    filters = [
        {"propertyName": obj.modified_property, "operator": "EQ", "value": str(at)},
        {"propertyName": _ID, "operator": "GT", "value": str(after_id)},
    ]
    if upper is not None:
        filters.append(
            {"propertyName": obj.modified_property, "operator": "LT", "value": str(upper)}
        )
    body = _body(properties, filters, _ID)
    return Request("POST", f"{settings.OBJECTS_PATH}/{obj.name}/search", json=body)


def first_request(
    obj: settings.ObjectType, properties: Sequence[str], since: datetime, now: datetime | None
) -> Request:
    return _range(obj, properties, _ms(since), "GTE", None if now is None else _ms(now))


def _object_type(request: Request) -> settings.ObjectType:
    name = request.path.rstrip("/").split("/")[-2]
    for obj in (settings.COMPANIES, settings.CONTACTS, settings.LEADS, settings.DEALS):
        if obj.name == name:
            return obj
    return next(o for o in settings.ENGAGEMENTS if o.name == name)


def _filter(filters: list[Mapping[str, str]], name: str, *operators: str) -> Mapping[str, str]:
    return next(f for f in filters if f["propertyName"] == name and f["operator"] in operators)


def next_request(page: Any, request: Request) -> Request | None:
    """The request after a search page: its next page, a restarted query, or None."""
    body = request.json
    obj = _object_type(request)
    properties = body["properties"]
    filters = body["filterGroups"][0]["filters"]
    tie = any(f["operator"] == "EQ" for f in filters)
    uppers = [int(f["value"]) for f in filters if f["operator"] == "LT"]
    upper = uppers[0] if uppers else None
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    if after is not None and int(after) < settings.SEARCH_RESULT_CAP:
        return replace(request, json={**body, "after": str(after)})
    results = page.get("results") or []
    at = int(_filter(filters, obj.modified_property, "EQ", "GTE", "GT")["value"])
    if after is None:  # the query is exhausted
        return _range(obj, properties, at, "GT", upper) if tie else None
    last = results[-1]
    if tie:
        return _tie(obj, properties, at, int(last["id"]), upper)
    last_at = _ms(parse_datetime(str(last["properties"][obj.modified_property]), "modified"))
    return _tie(obj, properties, last_at, 0, upper)
