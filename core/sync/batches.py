"""A page's records grouped by the synced table they are written to, and the views of them
the writer needs (core.sync.upsert).

Why records and not rows: PostgreSQL's writer sends a table's records as one JSON document
(core.sync.pgcopy), which orjson encodes from the record dataclasses in C; a tuple per
record, built and then rebuilt for the driver, cost more than writing it. Rows in the
table's column order are built only where they are needed: the SQLite writer, and the
columns the maintained aggregates compare (a few per deal or activity).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from core.sync.records import AnyRecord, FxRateRecord, Record, by_type

#: The columns the writer adds to a record's fields (all but ``deleted``).
ADDED = ("workspace_id", "connection_id", "synced_at", "deleted_at")
_FIELDS: dict[type[Any], tuple[str, ...]] = {}
_REMOTE_ID = attrgetter("remote_id")


def fields_of(cls: type[Record]) -> tuple[str, ...]:
    """The fields of a record class written as columns of the same name (all but
    ``deleted``, which becomes ``deleted_at``)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.name != "deleted")
    return names


@dataclass(slots=True)
class TableBatch:
    """One table's records of a page, one per remote id (the last one read wins), and
    the values the writer adds to each: its workspace, connection, ``synced_at`` (``now``),
    and ``deleted_at`` (``now`` for a record read as deleted, else None)."""

    record_class: type[Record]
    records: list[Record]
    workspace_id: str
    connection_id: str
    now: datetime

    @property
    def record_type(self) -> str:
        return self.record_class.record_type

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns of :meth:`rows`: the record's fields, then :data:`ADDED`."""
        return fields_of(self.record_class) + ADDED

    def ids(self) -> list[str]:
        return [record.remote_id for record in self.records]

    def values(self, names: Sequence[str]) -> list[tuple[Any, ...]]:
        """Each record's values of ``names`` (fields, or ``deleted_at``) as a tuple, one C
        call per record (a ``getattr`` per field cost a tenth of a sync's CPU)."""
        if "deleted_at" not in names:
            return self._getter(names)
        at = list(names).index("deleted_at")
        swapped = [*names[:at], "deleted", *names[at + 1 :]]
        now, after = self.now, at + 1
        return [(*v[:at], now if v[at] else None, *v[after:]) for v in self._getter(swapped)]

    def _getter(self, names: Sequence[str]) -> list[tuple[Any, ...]]:
        if len(names) == 1:
            return [(value,) for value in map(attrgetter(names[0]), self.records)]
        return list(map(attrgetter(*names), self.records))

    def rows(self) -> list[tuple[Any, ...]]:
        """Every record as a row in :attr:`columns` order."""
        ws, conn, now = self.workspace_id, self.connection_id, self.now
        getter = attrgetter(*fields_of(self.record_class), "deleted")
        return [(*v[:-1], ws, conn, now, now if v[-1] else None) for v in map(getter, self.records)]

    def dicts(self) -> list[dict[str, Any]]:
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows()]


def group(
    records: Iterable[AnyRecord], *, workspace_id: str, connection_id: str, now: datetime
) -> tuple[dict[str, TableBatch], list[FxRateRecord]]:
    """The page's synced records by record type (one per remote id, the last read winning,
    in the order their ids were first read), and its FX rates."""
    by_class: dict[type[Any], list[Any]] = by_type(
        records if isinstance(records, list) else list(records)
    )
    fx: list[FxRateRecord] = by_class.pop(FxRateRecord, [])
    batches: dict[str, TableBatch] = {}
    for cls, members in by_class.items():
        if len(set(map(_REMOTE_ID, members))) != len(members):
            members = list({record.remote_id: record for record in members}.values())
        batches[cls.record_type] = TableBatch(cls, members, workspace_id, connection_id, now)
    return batches, fx
