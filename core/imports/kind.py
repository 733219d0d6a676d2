"""What an import kind declares, and the one routine that imports a file of any kind."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from core.errors import NotFoundError
from core.imports._csv import Column, Row, RowCheck, read_rows
from core.models import Base, Workspace

#: Turns a parsed row into the table's columns, given the workspace (timezone, currency).
Finish = Callable[[dict[str, Any], Workspace], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class ImportKind:
    """A CSV format and the table it fills.

    ``key`` names the CSV columns that identify a row (two lines with the same key are an
    error); ``unique`` is the table's unique key they map to, with the workspace, which makes
    re-importing a file an update, never a duplicate.
    """

    name: str
    model: type[Base]
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    unique: tuple[str, ...]
    finish: Finish
    description: str
    check: RowCheck | None = None

    @property
    def table(self) -> Table:
        return Base.metadata.tables[self.model.__tablename__]


async def bump_data_version(session: AsyncSession, workspace_id: str) -> None:
    """Cached metric results are keyed by data version: imported rows must invalidate them."""
    await session.execute(
        update(Workspace)
        .where(Workspace.id == workspace_id)
        .values(data_version=Workspace.data_version + 1)
    )


@dataclass(frozen=True, slots=True)
class ImportResult:
    kind: str
    workspace_id: str
    rows: int


async def import_csv(
    session: AsyncSession, kind: ImportKind, workspace_id: str, text: str
) -> ImportResult:
    """Validate the whole file, then upsert it in the caller's transaction.

    Raises ImportRejected (nothing written) for bad rows and NotFoundError for an unknown
    workspace. The caller commits; a failure before that leaves nothing behind.
    """
    workspace = await session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFoundError(f"workspace {workspace_id!r} not found")
    rows: Sequence[Row] = read_rows(kind.name, text, kind.columns, kind.key, kind.check)
    values = [{**kind.finish(r.values, workspace), "workspace_id": workspace.id} for r in rows]
    written = await upsert(session, kind.table, values, conflict_columns=kind.unique)
    await bump_data_version(session, workspace.id)
    return ImportResult(kind=kind.name, workspace_id=workspace.id, rows=written)
