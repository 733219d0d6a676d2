"""Which rows of a page the writer knows are not stored yet, so it need not read them first.

Before writing a page, the writer reads the stored state of its deals and activities (what
the daily rollups and the customer stretches read of them: core.metrics.rollup_deltas,
core.metrics.stretch_refresh), to take away what a changed row contributed. On a first load
nothing is stored, and those reads were an index probe per row for nothing (a tenth of
PostgreSQL's work of a HubSpot first load).

A run's writer knows which rows cannot be stored: when a record type's table held no row of
the connection at the first page of that type (one probe), the only rows of it that can be
stored are those this writer wrote since (the connection's sync lock keeps other syncs out,
and nothing else writes a connection's deals and activities). Its rows are noted before
they are written, so a page in flight, or one rolled back, is read as if stored: a read
too many, never one too few.

:meth:`Unstored.check` makes sure after the upsert: every row that was not stored is
inserted, every stored one is not, so the table's inserted rows must number the page's rows
less those the reads found. Otherwise a row taken for new was stored (another writer after
all): the page's transaction fails rather than keep rollups that count that row twice, and
later pages read every row again.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.ext.asyncio import AsyncConnection

from core.errors import CrmkpiError
from core.models import synced_table

#: Past this many rows of one type written in a run, the writer stops keeping their ids (a
#: few MB) and reads every row again: memory stays flat whatever the account's size.
MAX_TRACKED = 500_000


class StoredRowTakenForNew(CrmkpiError):
    """A row the writer took for new was stored: its page is not written."""


@cache
def _any_stored(record_type: str) -> Any:
    """Whether the connection has any row of the type (one index probe), built once."""
    table = synced_table(record_type)
    return select(exists().where(table.c.connection_id == bindparam("connection_id")))


class Unstored:
    """One run's knowledge of which rows of ``record_types`` are not stored (see the module
    docstring); shared by the run's concurrent streams."""

    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        #: By record type: the ids written by this run; None once rows of the type may be
        #: stored that this run did not write (or too many to keep).
        self._written: dict[str, set[str] | None] = {}

    async def new_rows(
        self, conn: AsyncConnection, record_type: str, ids: Sequence[str]
    ) -> set[str]:
        """The rows among ``ids`` (a page's rows of one type, about to be written in
        ``conn``'s transaction) that are not stored: none unless the type's table held no
        row of the connection when this run first wrote it. Notes ``ids`` as written."""
        if record_type not in self._written:
            stored = await conn.scalar(
                _any_stored(record_type), {"connection_id": self.connection_id}
            )
            # Another page of the type may have probed meanwhile: rows seen stored win.
            if record_type not in self._written or stored:
                self._written[record_type] = None if stored else set()
        written = self._written[record_type]
        if written is None:
            return set()
        new = set(ids).difference(written)
        if len(written) + len(new) > MAX_TRACKED:
            self._written[record_type] = None
            return set()
        written.update(new)
        return new

    def check(self, record_type: str, rows: int, found: int, inserted: int) -> None:
        """After the upsert of a page's ``rows`` of one type, of which the reads ``found``
        stored and ``inserted`` were inserted: raise if a row taken for new was stored."""
        if inserted != rows - found:
            self._written[record_type] = None
            raise StoredRowTakenForNew(
                f"{rows - found - inserted} {record_type} rows taken for new were stored: "
                "the page is written again from what is stored"
            )


__all__ = ["MAX_TRACKED", "StoredRowTakenForNew", "Unstored"]
