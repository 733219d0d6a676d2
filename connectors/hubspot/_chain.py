"""Follow-up reads that complete a page of CRM objects before the engine sees it.

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

The page's records are held in a :class:`Chain` while the follow-ups run, one at a time,
and handed to the engine with the last of them. Follow-ups run one after the other, so
each page a stream reads during a chain is the answer to its outstanding request.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connectors.hubspot import settings
from core.sync.connector import Request

#: The one property whose history is read (deal stage visits).
HISTORY_PROPERTY = "dealstage"


@dataclass(slots=True)
class Chain:
    """The records of one page, completed by the follow-up requests in ``queue``."""

    pending: dict[str, dict[str, Any]]
    queue: deque[Request]
    #: The request after the page, once the chain is done.
    resume: Request | None = None
    outstanding: Request | None = None

    def next(self) -> Request | None:
        """The next follow-up, or None when the chain is done."""
        self.outstanding = self.queue.popleft() if self.queue else None
        return self.outstanding

    def absorb(self, page: Any) -> None:
        """Merge the answer to the outstanding request into the pending records."""
        request, self.outstanding = self.outstanding, None
        results = page.get("results") if isinstance(page, Mapping) else None
        items = [r for r in results if isinstance(r, Mapping)] if isinstance(results, list) else []
        if request is not None and request.path.startswith(settings.ASSOCIATIONS_V4_PATH):
            self._merge_associations(request, items)
        else:
            for item in items:
                target = self.pending.get(str(item.get("id")))
                history = item.get("propertiesWithHistory")
                if target is not None and isinstance(history, Mapping):
                    target["propertiesWithHistory"] = dict(history)

    def _merge_associations(self, request: Request, items: list[Mapping[str, Any]]) -> None:
        from_type, to_type = request.path.split("/")[-4:-2]
        more: list[dict[str, str]] = []
        for item in items:
            from_id = str((item.get("from") or {}).get("id"))
            target = self.pending.get(from_id)
            if target is None:
                continue
            associations = target.setdefault("associations", {})
            block = associations.setdefault(to_type, {"results": []})
            block["results"].extend(v3_associations(item, from_type, to_type))
            after = ((item.get("paging") or {}).get("next") or {}).get("after")
            if after:
                more.append({"id": from_id, "after": str(after)})
        if more:
            self.queue.appendleft(association_request(from_type, to_type, more))


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


def for_search_page(
    obj: settings.ObjectType,
    results: Iterable[Mapping[str, Any]],
    with_history: bool,
    associations: Sequence[str],
) -> Chain | None:
    """Associations (and stage history) of a page of search results, or None if none needed."""
    pending = {str(r["id"]): {**r, "associations": {}} for r in results}
    if not pending:
        return None
    ids = list(pending)
    queue: deque[Request] = deque(
        association_request(obj.name, to_type, [{"id": i} for i in ids]) for to_type in associations
    )
    if with_history:
        queue.extend(history_requests(obj.name, ids))
    return Chain(pending, queue) if queue else None


def for_list_page(obj: settings.ObjectType, results: Iterable[Mapping[str, Any]]) -> Chain | None:
    """Full association reads of the objects whose embedded associations were cut short."""
    records = [dict(r) for r in results]
    truncated: dict[str, list[str]] = {}
    for record in records:
        for to_type, block in (record.get("associations") or {}).items():
            if isinstance(block, Mapping) and (block.get("paging") or {}).get("next"):
                truncated.setdefault(to_type, []).append(str(record["id"]))
    if not truncated:
        return None
    pending = {str(r["id"]): r for r in records}
    for to_type, ids in truncated.items():
        for i in ids:
            pending[i]["associations"] = {
                k: v for k, v in pending[i]["associations"].items() if k != to_type
            }
    queue = deque(
        association_request(obj.name, to_type, [{"id": i} for i in ids])
        for to_type, ids in sorted(truncated.items())
    )
    return Chain(pending, queue)


def v3_associations(item: Mapping[str, Any], from_type: str, to_type: str) -> list[dict[str, str]]:
    """A v4 batch association result in the v3 list shape.

    v3 names each association type: ``deal_to_company`` for the primary (or the only,
    unlabeled) one, ``deal_to_company_unlabeled`` next to a primary, and the label for
    custom labels; an id appears once per type, as v3 lists do.
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
