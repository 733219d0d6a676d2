"""The test CRM's data: generated lazily from the record index, plus an overlay of edits.

Record ``i`` of a kind is a pure function of ``i`` (no per-record storage), so the simulator
serves 200k records in constant memory. Records are listed in ``(updated_at, id)`` order:
the generated ones first (record i was updated at T0 + i minutes), then the edited ones in
the order of their edits (edits are stamped with a clock that starts after every generated
time). Deleted records leave the listings and appear in the deletions listing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2024, 1, 1, tzinfo=UTC)
STEP = timedelta(minutes=1)
KINDS = ("users", "accounts", "contacts", "deals", "activities")
PIPELINES = [
    {
        "id": "p1",
        "name": "Sales",
        "order": 0,
        "stages": [
            {"id": "s1", "name": "Appointment scheduled", "probability": 0.1},
            {"id": "s2", "name": "Proposal sent", "probability": 0.5},
            {"id": "s3", "name": "Contract negotiation", "probability": 0.8},
            {"id": "s4", "name": "Closed won", "probability": 1.0, "closed": True, "won": True},
            {"id": "s5", "name": "Closed lost", "probability": 0.0, "closed": True},
        ],
    },
    {
        "id": "p2",
        "name": "Renewals",
        "order": 1,
        "stages": [
            {"id": "s6", "name": "Renewal due", "probability": None},
            {"id": "s7", "name": "Renewed", "probability": 1.0, "closed": True, "won": True},
        ],
    },
]
FX = [
    {"currency": cur, "base": "USD", "day": f"2024-01-{d:02d}", "rate": rate}
    for d in range(1, 4)
    for cur, rate in (("EUR", "1.0900"), ("GBP", "1.2700"))
]
_CURRENCIES = ("USD", "EUR", "GBP")
_TYPES = ("call", "email", "meeting", "note", "task")


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def generate(kind: str, i: int) -> dict[str, Any]:
    """The generated (unedited) record ``i`` of ``kind``; cheap arithmetic, no randomness."""
    created = T0 + i * STEP
    common = {"id": f"{kind[0]}{i}", "created_at": _iso(created), "updated_at": _iso(created)}
    owner = f"u{i % 10}"
    if kind == "users":
        return {**common, "name": f"User {i}", "email": f"user{i}@example.com", "active": True}
    if kind == "accounts":
        return {
            **common,
            "name": f"Account {i}",
            "country": ("ES", "DE", "US")[i % 3],
            "industry": ("Retail", "Software")[i % 2],
            "owner_id": owner,
        }
    if kind == "contacts":
        return {
            **common,
            "name": f"Contact {i}",
            "email": f"c{i}@example.com",
            "account_id": f"a{i // 2}",
            "owner_id": owner,
            "lifecycle": ("lead", "marketingqualifiedlead", "customer")[i % 3],
        }
    if kind == "deals":
        stage = ("s1", "s2", "s3", "s4", "s5")[i % 5]
        closed = stage in ("s4", "s5")
        history = [{"stage_id": "s1", "entered_at": _iso(created)}]
        if stage != "s1":
            history.append({"stage_id": stage, "entered_at": _iso(created + timedelta(days=3))})
        return {
            **common,
            "title": f"Deal {i}",
            "amount": f"{(i * 7919) % 100000}.50",
            "currency": _CURRENCIES[i % 3],
            "pipeline_id": "p1",
            "stage_id": stage,
            "status": {"s4": "won", "s5": "lost"}.get(stage, "open"),
            "owner_id": owner,
            "account_id": f"a{i // 4}",
            "closed_at": _iso(created + timedelta(days=3)) if closed else None,
            "history": history,
            "custom": {"deal_kind": ("new", "renewal")[i % 2], "region_code": f"R{i % 4}"},
        }
    if kind == "activities":
        return {
            **common,
            "type": _TYPES[i % 5],
            "subject": f"Activity {i}",
            "owner_id": owner,
            "deal_id": f"d{i // 2}",
            "done_at": _iso(created) if i % 3 else None,
        }
    raise KeyError(kind)


@dataclass
class Dataset:
    """Counts of generated records per kind, and the overlay of edits and deletions."""

    counts: dict[str, int]
    edits: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    deleted: dict[str, dict[str, str]] = field(default_factory=dict)
    clock: datetime = T0 + timedelta(days=3650)
    _encoded: dict[str, dict[int, bytes]] = field(default_factory=dict, repr=False)

    @classmethod
    def sized(cls, deals: int) -> Dataset:
        return cls(
            counts={
                "users": 10,
                "accounts": max(1, deals // 4),
                "contacts": max(1, deals // 2),
                "deals": deals,
                "activities": deals,
            }
        )

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return _iso(self.clock)

    def get(self, kind: str, remote_id: str) -> dict[str, Any]:
        edited = self.edits.get(kind, {}).get(remote_id)
        return edited if edited is not None else generate(kind, int(remote_id[1:]))

    def edit(self, kind: str, remote_id: str, **changes: Any) -> dict[str, Any]:
        """Change a record (it moves to the end of the listing with a new updated_at)."""
        record = {**self.get(kind, remote_id), **changes, "updated_at": self._tick()}
        bucket = self.edits.setdefault(kind, {})
        bucket.pop(remote_id, None)
        bucket[remote_id] = record
        self.deleted.get(kind, {}).pop(remote_id, None)
        return record

    def delete(self, kind: str, remote_id: str) -> None:
        self.deleted.setdefault(kind, {})[remote_id] = self._tick()

    def _skip(self, kind: str, remote_id: str) -> bool:
        return remote_id in self.edits.get(kind, {}) or remote_id in self.deleted.get(kind, {})

    def page(
        self, kind: str, position: int | None, limit: int, since: datetime | None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Up to ``limit`` records from ``position`` (None: the first one updated at or after
        ``since``); the next position, or None after the last record."""
        total = self.counts[kind]
        edited = list(self.edits.get(kind, {}).values())
        if position is None:
            position = 0
            if since is not None:
                position = max(0, math.ceil((since - T0) / STEP))
                if position >= total:
                    position = total + sum(1 for r in edited if r["updated_at"] < _iso(since))
        out: list[dict[str, Any] | int] = []
        deleted = self.deleted.get(kind, {})
        while len(out) < limit and position < total + len(edited):
            if position < total:
                remote_id = f"{kind[0]}{position}"
                if not self._skip(kind, remote_id):
                    out.append(position)
            else:
                record = edited[position - total]
                if record["id"] not in deleted:
                    out.append(record)
            position += 1
        return out, (position if position < total + len(edited) else None)

    def encoded(self, kind: str, i: int) -> bytes:
        """Generated record ``i`` as JSON, memoised: serving a page is then a join."""
        cache = self._encoded.setdefault(kind, {})
        data = cache.get(i)
        if data is None:
            data = cache[i] = json.dumps(generate(kind, i), separators=(",", ":")).encode()
        return data

    def warm(self) -> None:
        """Encode every generated record up front (benchmarks measure the engine, not this)."""
        for kind, total in self.counts.items():
            for i in range(total):
                self.encoded(kind, i)

    def deletions(self, kind: str, since: datetime | None) -> Iterator[dict[str, str]]:
        for remote_id, when in self.deleted.get(kind, {}).items():
            if since is None or when >= _iso(since):
                yield {"id": remote_id, "deleted_at": when}
