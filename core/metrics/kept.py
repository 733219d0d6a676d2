"""Reference data of a metrics request kept per process, by the data versions of its
workspaces: FX tables, workspace settings, targets.

Every change to such data bumps the data version of the workspaces it concerns (a sync
batch, a settings change, an import of rates, a target), and the API reads the versions
before any metric (core.metrics.cache.known_versions). What a request read at some versions
is therefore what any request at the same versions would read: kept here, a request at
known versions reads none of it. Without known versions (not through the API, or a
workspace whose version the request did not read) it is read every time.

Entries are found only with the versions the request read through its own (tenant-scoped)
session, so no request finds data of a workspace it could not read.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")


def request_versions(session: Any, workspace_ids: Sequence[str]) -> Hashable | None:
    """The data versions of ``workspace_ids`` the request behind ``session`` has read, or
    None when it has not read them all."""
    # core.metrics.cache imports the executor, which imports the users of this module.
    from core.metrics.cache import known_versions

    info = getattr(session, "info", None)
    return known_versions(info, workspace_ids) if info is not None else None


class KeptByVersions(Generic[T]):
    """A least-recently-used map of values by (data versions, key)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()

    async def get(
        self,
        session: Any,
        workspace_ids: Sequence[str],
        key: Hashable,
        load: Callable[[], Awaitable[T]],
    ) -> T:
        """The value of ``key`` at the request's versions of ``workspace_ids``: kept, or
        ``load()``-ed (and kept when the versions are known)."""
        versions = request_versions(session, workspace_ids)
        if versions is None:
            return await load()
        full = (versions, tuple(workspace_ids), key)
        found = self._items.get(full)
        if found is not None:
            self._items.move_to_end(full)
            return found
        value = await load()
        self._items[full] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


__all__ = ["KeptByVersions", "request_versions"]
