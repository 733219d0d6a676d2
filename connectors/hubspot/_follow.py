"""Follow-up reads that complete a page of CRM objects before it is handed on.

Some pages are not the whole story:

- search results carry no associations and search cannot return ``propertiesWithHistory``:
  each search page is followed by one v4 association batch read per associated type and,
  for deals, batch reads of the stage history (at most 50 ids each, HubSpot's limit when
  history is asked for);
- a v3 list embeds at most one page of associations per object; an object with more has a
  ``paging.next`` in its block, and its associations of that type are read again in full
  through the v4 batch read;
- a v4 batch read returns one page of associations per object too; objects with more come
  back with ``paging.next.after`` and are read again with that ``after``.

Plain loops: the stream awaits :func:`complete_search_page` or :func:`complete_list_page`
and yields the completed records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connectors.hubspot import settings
from core.sync import HttpClient, Request

#: The one property whose history is read (deal stage visits).
HISTORY_PROPERTY = "dealstage"


def _results(page: Any) -> list[Mapping[str, Any]]:
    results = page.get("results") if isinstance(page, Mapping) else None
    return [r for r in results if isinstance(r, Mapping)] if isinstance(results, list) else []


def association_request(
    from_type: str, to_type: str, inputs: Sequence[Mapping[str, str]]
) -> Request:
    path = f"{settings.ASSOCIATIONS_V4_PATH}/{from_type}/{to_type}/batch/read"
    return Request("POST", path, json={"inputs": [dict(i) for i in inputs]})


def history_requests(object_type: str, ids: Sequence[str]) -> list[Request]:
    """Batch reads of the stage history of ``ids``, as many ids a read as HubSpot allows."""
    size = settings.HISTORY_PAGE_SIZE
    path = f"{settings.OBJECTS_PATH}/{object_type}/batch/read"
    return [
        Request(
            "POST",
            path,
            json={
                "inputs": [{"id": i} for i in ids[start : start + size]],
                "properties": [HISTORY_PROPERTY],
                "propertiesWithHistory": [HISTORY_PROPERTY],
            },
        )
        for start in range(0, len(ids), size)
    ]


async def read_associations(
    http: HttpClient,
    from_type: str,
    to_type: str,
    ids: Sequence[str],
    pending: Mapping[str, dict[str, Any]],
) -> None:
    """Every association of ``ids`` to ``to_type`` (v4 batch reads, following each
    object's ``paging.next.after``), merged into ``pending`` in the v3 list shape."""
    inputs: list[dict[str, str]] = [{"id": i} for i in ids]
    while inputs:
        page = await http.send(association_request(from_type, to_type, inputs))
        inputs = []
        for item in _results(page):
            from_id = str((item.get("from") or {}).get("id"))
            target = pending.get(from_id)
            if target is None:
                continue
            block = target.setdefault("associations", {}).setdefault(to_type, {"results": []})
            block["results"].extend(v3_associations(item, from_type, to_type))
            after = ((item.get("paging") or {}).get("next") or {}).get("after")
            if after:
                inputs.append({"id": from_id, "after": str(after)})


async def complete_search_page(
    http: HttpClient,
    obj: settings.ObjectType,
    results: Iterable[Mapping[str, Any]],
    associations: Sequence[str],
    with_history: bool,
) -> list[dict[str, Any]]:
    """A search page with its associations (and stage history)."""
    pending = {str(r["id"]): {**r, "associations": {}} for r in results}
    ids = list(pending)
    if not ids:
        return []
    for to_type in associations:
        await read_associations(http, obj.name, to_type, ids, pending)
    if with_history:
        for request in history_requests(obj.name, ids):
            for item in _results(await http.send(request)):
                target = pending.get(str(item.get("id")))
                history = item.get("propertiesWithHistory")
                if target is not None and isinstance(history, Mapping):
                    target["propertiesWithHistory"] = dict(history)
    return list(pending.values())


async def complete_list_page(
    http: HttpClient, obj: settings.ObjectType, results: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """A list page whose embedded associations cut short are read again in full.

    HubSpot leaves ``associations`` out of an object that has none: it is set to ``{}``
    so a record reads the same from a list as from search and association reads. The
    page's own objects are completed in place (the decoded page is this read's alone);
    only an object whose associations are read again is copied first.
    """
    records: list[dict[str, Any]] = []
    truncated: dict[str, list[str]] = {}
    for raw in results:
        record = raw if isinstance(raw, dict) else dict(raw)
        associations = record.get("associations")
        if not associations:
            if associations is None or associations != {}:
                record["associations"] = {}
            records.append(record)
            continue
        cut = [
            to_type
            for to_type, block in associations.items()
            if isinstance(block, (dict, Mapping))  # dict first: no ABC check
            and "paging" in block  # the usual block has none: no dict made for it
            and (block["paging"] or {}).get("next")
        ]
        if cut:
            record = {**record, "associations": dict(associations)}
            for to_type in cut:
                truncated.setdefault(to_type, []).append(str(record["id"]))
        records.append(record)
    if truncated:
        pending = {str(r["id"]): r for r in records}
        for to_type, ids in sorted(truncated.items()):
            for i in ids:
                del pending[i]["associations"][to_type]
            await read_associations(http, obj.name, to_type, ids, pending)
    return records


def v3_associations(item: Mapping[str, Any], from_type: str, to_type: str) -> list[dict[str, str]]:
    """A v4 batch association result in the v3 list shape.

    v3 names each association type: ``deal_to_company`` for the primary (or the only,
    unlabeled) one, ``deal_to_company_unlabeled`` next to a primary, and the label for
    custom labels; an id appears once per type, as v3 lists do. ``toObjectId`` is a
    string in the spec and a number in answers: both are read.
    """
    base = f"{settings.SINGULAR[from_type]}_to_{settings.SINGULAR[to_type]}"
    converted = []
    for target in item.get("to") or ():
        types = list(target.get("associationTypes") or ())
        labels = [t.get("label") for t in types]
        has_primary = "Primary" in labels
        for label in labels or [None]:
            if label == "Primary" or (label is None and not has_primary):
                name = base
            elif label is None:
                name = f"{base}_unlabeled"
            else:
                name = f"{base}_{str(label).lower().replace(' ', '_')}"
            converted.append({"id": str(target["toObjectId"]), "type": name})
    return converted
