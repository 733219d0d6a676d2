"""The settings of the workspaces a metrics request reads (timezone, reporting currency,
calendar), kept per their data versions.

The executor needs them before it can plan a request's frames, so their read sat on every
request's path between the data versions and the first metric statement: a round trip and an
ORM object per workspace. Every change of a workspace's settings bumps its data version
(core.organizations.update_workspace), and the API reads the versions first
(core.metrics.cache.known_versions), so settings read at the same versions are the same:
kept here as plain values, a request at known versions reads none. Without known versions
(not through the API) they are read, as before.

The read selects columns of the mapped table, so the tenant scoping of the request's
session applies to it (core.tenancy); a kept entry is found only by a request that read the
versions of those workspaces through its own scoped session.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from sqlalchemy import bindparam, select

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

_KEPT: OrderedDict[Hashable, dict[str, WorkspaceSettings]] = OrderedDict()
#: Most (workspaces, versions) kept.
KEPT = 1024


async def load_settings(
    session: Reader, workspace_ids: Sequence[str]
) -> dict[str, WorkspaceSettings]:
    """The settings of those of ``workspace_ids`` that exist (and the session may read), by
    id."""
    from core.metrics.cache import known_versions  # cache imports the executor, which us

    info = getattr(session, "info", None)
    versions = known_versions(info, workspace_ids) if info is not None else None
    key = (versions, tuple(workspace_ids))
    if versions is not None and (found := _KEPT.get(key)) is not None:
        _KEPT.move_to_end(key)
        return found
    rows = (await session.execute(_READ, {"ids": list(workspace_ids)})).all()
    settings = {row.id: WorkspaceSettings(*row) for row in rows}
    if versions is not None:
        _KEPT[key] = settings
        while len(_KEPT) > KEPT:
            _KEPT.popitem(last=False)
    return settings


__all__ = ["WorkspaceSettings", "load_settings"]
