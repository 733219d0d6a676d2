"""Pre-rendered records and Pipedrive's two page envelopes, for the simulator.

Records are JSON bytes rendered once; a page is a slice joined into the envelope: v2
``{"success", "data", "additional_data": {"next_cursor"}}`` with an opaque base64 cursor,
v1 ``{"success", "data", "additional_data": {"pagination": {...}}}`` (``data`` null when
empty, as Pipedrive sends it).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.simulation.paging import encode_cursor, page


@dataclass
class Table:
    """Rendered records in two orders: by id, and by (update time, id)."""

    by_id: list[bytes] = field(default_factory=list)
    by_update: list[bytes] = field(default_factory=list)
    update_keys: list[datetime] = field(default_factory=list)
    updated_by_id: list[datetime] = field(default_factory=list)

    @classmethod
    def of(cls, rows: Iterable[tuple[datetime, Any, bytes]]) -> Table:
        ordered = sorted(rows, key=lambda x: (x[0], x[1]))
        by_id = sorted(ordered, key=lambda x: x[1])
        return cls(
            by_id=[r for _, _, r in by_id],
            by_update=[r for _, _, r in ordered],
            update_keys=[u for u, _, _ in ordered],
            updated_by_id=[u for u, _, _ in by_id],
        )

    def select(
        self, since: datetime | None, until: datetime | None, by_update: bool
    ) -> Sequence[bytes]:
        if by_update:
            lo = 0 if since is None else bisect_left(self.update_keys, since)
            hi = len(self.update_keys) if until is None else bisect_left(self.update_keys, until)
            return self.by_update[lo:hi]
        if since is None and until is None:
            return self.by_id
        return [
            r
            for r, u in zip(self.by_id, self.updated_by_id, strict=True)
            if (since is None or u >= since) and (until is None or u < until)
        ]


def dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def as_json(make: Callable[..., Any], *args: Any) -> bytes:
    return dump(make(*args))


def as_json_items(make: Callable[..., list[Any]], *args: Any) -> list[bytes]:
    return [dump(item) for item in make(*args)]


def v2_page(
    items: Sequence[bytes],
    start: int,
    limit: int,
    transform: Callable[[Sequence[bytes]], Sequence[bytes]] | None = None,
) -> bytes:
    """One v2 page of ``items`` from ``start``; ``transform`` rewrites the page's items."""
    found = page(items, start, limit)
    nxt = b"null" if found.next is None else dump(encode_cursor(found.next))
    chunk = found.items
    if transform is not None:
        chunk = transform(chunk)
    return (
        b'{"success":true,"data":['
        + b",".join(chunk)
        + b'],"additional_data":{"next_cursor":'
        + nxt
        + b"}}"
    )


def v1_page(items: Sequence[bytes], start: int, limit: int, *, flat: bool = False) -> bytes:
    """One v1 offset page. The models document two shapes: ``additional_data.pagination``
    with ``next_start`` (notes), or ``start`` / ``limit`` / ``more_items_in_collection``
    straight under ``additional_data`` (``flat``: leads, field metadata, deal flow)."""
    found = page(items, start, limit)
    chunk, more = found.items, found.next is not None
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if found.next is not None and not flat:
        pagination["next_start"] = found.next
    data = b"[" + b",".join(chunk) + b"]" if chunk else b"null"
    extra = dump(pagination) if flat else b'{"pagination":' + dump(pagination) + b"}"
    return b'{"success":true,"data":' + data + b',"additional_data":' + extra + b"}"


def v1_all(items: Sequence[bytes]) -> bytes:
    """An unpaged v1 list (users, teams, labels, activity types)."""
    return b'{"success":true,"data":[' + b",".join(items) + b"]}"
