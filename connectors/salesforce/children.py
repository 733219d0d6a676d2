"""Relationship subqueries read to their end.

A REST query row carries each child subquery (``OpportunityHistories``, ``Histories``) as a
query result of its own: ``{"totalSize", "done", "records"}``. A long one comes back with
``done: false`` and its own ``nextRecordsUrl`` (SOQL and SOQL guide, "Relationship
queries" / REST guide, "Query": "the child ... query results ... include a
nextRecordsUrl"); the rest is read with GET on that URL like any query locator. Reading
only the first batch would silently drop the older stage changes of a long history.

Both readings are handled: a result whose ``done`` is false, or that carries a
``nextRecordsUrl`` without saying ``done``, is followed until a batch says it is done or
names no next URL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from core.sync.connector import HttpClient, Request


def _pending(result: Any) -> str | None:
    """The next batch's URL of a child result that is not complete, else None."""
    if not isinstance(result, Mapping) or result.get("done") is True:
        return None
    url = result.get("nextRecordsUrl")
    return str(url) if url else None


async def complete_children(
    http: HttpClient, rows: Iterable[MutableMapping[str, Any]], relationships: Iterable[str]
) -> int:
    """Replace every incomplete child result of ``rows`` with the whole of it (in place);
    the number of extra batches read."""
    names = list(relationships)
    batches = 0
    for row in rows:
        for name in names:
            result = row.get(name)
            url = _pending(result)
            if url is None:
                continue
            assert isinstance(result, Mapping)
            records = list(result.get("records") or [])
            while url is not None:
                page = await http.send(Request(path=url))
                batches += 1
                records.extend((page.get("records") or []) if isinstance(page, Mapping) else [])
                url = _pending(page)
            row[name] = {**result, "done": True, "records": records, "totalSize": len(records)}
            row[name].pop("nextRecordsUrl", None)
    return batches
