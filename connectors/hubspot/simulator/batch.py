"""The simulator's batch reads: objects (with property history) and v4 associations.

Both answer HubSpot's batch shape ``{"status": "COMPLETE", "results": [...]}``, with a
207 and ``errors`` naming the ids that were not found. Associations are paged per object,
as HubSpot pages them: an object with more than ``page`` associated objects comes back
with ``paging.next.after``, and the v3 list embeds only its first page, with a
``paging.next`` that tells the reader there is more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot.simulator.errors import error_body
from connectors.hubspot.simulator.render import Rendered
from core.simulation import paging

#: Ids a batch read takes (objects; v4 association reads take 1,000).
BATCH_READ_LIMIT = 100


class BatchError(ValueError):
    """A batch request the real API would refuse with 400 VALIDATION_ERROR."""


def targets(entries: list[dict[str, str]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """v3 association entries grouped per target, as v4 association types."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        primary = not entry["type"].endswith("_unlabeled") and any(
            e["id"] == entry["id"] and e["type"].endswith("_unlabeled") for e in entries
        )
        grouped.setdefault(entry["id"], []).append(
            {
                "category": "HUBSPOT_DEFINED",
                "typeId": 1 if primary else 2,
                "label": "Primary" if primary else None,
            }
        )
    return list(grouped.items())


def embedded(record: Rendered, page: int, types: tuple[str, ...] = ()) -> dict[str, Any]:
    """The ``associations`` block of a v3 list: the first ``page`` targets of each type
    asked (every type when ``types`` is empty); types without any are left out."""
    block: dict[str, Any] = {}
    for to_type, entries in record.associations.items():
        if not entries or (types and to_type not in types):
            continue
        first = {target for target, _ in targets(entries)[:page]}
        item: dict[str, Any] = {"results": [e for e in entries if e["id"] in first]}
        if len(first) < len({e["id"] for e in entries}):
            after = str(page)
            link = f"{settings.ASSOCIATIONS_V4_PATH}/{to_type}?after={after}"
            item["paging"] = {"next": {"after": after, "link": link}}
        block[to_type] = item
    return block


def _record(by_id: Mapping[int, Rendered], raw_id: Any) -> Rendered | None:
    return by_id.get(int(raw_id)) if str(raw_id).isdigit() else None


def _not_found(what: str, ids: list[str]) -> dict[str, Any]:
    return error_body(what, "OBJECT_NOT_FOUND", context={"ids": ids})


def _answer(results: list[Any], missing: list[str], what: str) -> tuple[int, dict[str, Any]]:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    }
    if missing:
        body["numErrors"] = 1
        body["errors"] = [_not_found(what, missing)]
    return (207 if missing else 200), body


def associations(
    by_id: Mapping[int, Rendered], from_type: str, to_type: str, request: Any, page: int
) -> tuple[int, dict[str, Any]]:
    """``POST /crm/v4/associations/{from}/{to}/batch/read``: each input ``{id, after?}``."""
    inputs = (request or {}).get("inputs") if isinstance(request, Mapping) else None
    if not isinstance(inputs, list) or len(inputs) > settings.ASSOCIATION_BATCH_SIZE:
        raise BatchError(f"inputs must be a list of at most {settings.ASSOCIATION_BATCH_SIZE}")
    results, missing = [], []
    for item in inputs:
        if not isinstance(item, Mapping):
            raise BatchError("each input must be an object with an id")
        record = _record(by_id, item.get("id"))
        found = targets(record.associations.get(to_type) or []) if record else []
        after = str(item.get("after") or "0")
        start = int(after) if after.isdigit() else 0
        if not found:
            missing.append(str(item["id"]))
            continue
        chunk = paging.page(found, start, page)
        result: dict[str, Any] = {
            "from": {"id": str(item["id"])},
            "to": [
                {"toObjectId": int(target_id), "associationTypes": types}
                for target_id, types in chunk.items
            ],
        }
        if chunk.next is not None:
            result["paging"] = {"next": {"after": str(chunk.next)}}
        results.append(result)
    return _answer(results, missing, f"No {to_type} is associated with {from_type}.")


def objects(
    by_id: Mapping[int, Rendered],
    object_type: str,
    request: Any,
    render: Callable[[Rendered, tuple[str, ...] | None], dict[str, Any]],
    *,
    archived: bool = False,
) -> tuple[int, dict[str, Any]]:
    """``POST /crm/v3/objects/{type}/batch/read`` with ``properties`` and
    ``propertiesWithHistory``; merged-away ids are not found, nor archived ones unless
    ``archived`` (then only archived ones are)."""
    if not isinstance(request, Mapping) or not isinstance(request.get("inputs"), list):
        raise BatchError("inputs must be a list")
    inputs = request["inputs"]
    history = list(request.get("propertiesWithHistory") or [])
    limit = settings.HISTORY_PAGE_SIZE if history else BATCH_READ_LIMIT
    if len(inputs) > limit:
        raise BatchError(f"at most {limit} inputs are allowed, {len(inputs)} were given")
    wanted = tuple(request["properties"]) if request.get("properties") is not None else None
    results, missing = [], []
    for item in inputs:
        if not isinstance(item, Mapping):
            raise BatchError("each input must be an object with an id")
        record = _record(by_id, item.get("id"))
        if record is None or record.archived != archived:
            missing.append(str(item.get("id")))
            continue
        body = render(record, wanted)
        if history:
            body["propertiesWithHistory"] = {name: record.history.get(name, []) for name in history}
        results.append(body)
    return _answer(results, missing, f"Could not get some {object_type} objects.")


def with_history(body: bytes, record: Rendered, names: list[str]) -> bytes:
    """A rendered object with its ``propertiesWithHistory`` block added."""
    history = {name: record.history.get(name, []) for name in names}
    return body[:-1] + b',"propertiesWithHistory":' + json.dumps(history).encode() + b"}"
