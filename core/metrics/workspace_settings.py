"""The settings of the workspaces a metrics request reads (timezone, reporting currency,
calendar), kept per their data versions.

The executor needs them before it can plan a request's frames, so their read sat on every
request's path between the data versions and the first metric statement: a round trip and an
ORM object per workspace. Every change of a workspace's settings bumps its data version
(core.organizations.update_workspace), so settings read at the same versions are the same:
kept as plain values per versions (core.metrics.kept), a request at known versions reads
none.

The read selects columns of the mapped table, so the tenant scoping of the request's
session applies to it (core.tenancy).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from core.metrics.kept import KeptByVersions
from core.metrics.query import Reader
from core.models import Workspace


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """What the executor reads of a workspace."""

    id: str
    timezone: str
    currency: str
    fiscal_year_start_month: int
    week_start: int


_READ = select(
    Workspace.id,
    Workspace.timezone,
    Workspace.currency,
    Workspace.fiscal_year_start_month,
    Workspace.week_start,
).where(Workspace.id.in_(bindparam("ids", expanding=True)))

#: Settings kept by the workspaces' data versions (core.metrics.kept).
_KEPT: KeptByVersions[dict[str, WorkspaceSettings]] = KeptByVersions(1024)


async def load_settings(
    session: Reader, workspace_ids: Sequence[str]
) -> dict[str, WorkspaceSettings]:
    """The settings of those of ``workspace_ids`` that exist (and the session may read), by
    id (shared by the requests at the same versions: not to be changed)."""

    async def read() -> dict[str, WorkspaceSettings]:
        rows = (await session.execute(_READ, {"ids": list(workspace_ids)})).all()
        return {row.id: WorkspaceSettings(*row) for row in rows}

    return await _KEPT.get(session, workspace_ids, "settings", read)


__all__ = ["WorkspaceSettings", "load_settings"]
