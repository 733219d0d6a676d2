"""Metric results cached per (workspaces and their data versions, currency, request, minute).

Every committed sync batch bumps its workspace's ``data_version``, and the versions are read
on every request, so a cached answer is never older than the data. They are read once per
request: whoever reads them first (the API's kept answers, api.response_cache) leaves them in
the session's ``info`` under :data:`VERSIONS`, and the executor reuses them. ``now`` is truncated to
the minute and the executor computes with that same instant, so cached and fresh answers
agree (only "period in progress" alignment moves with time, by at most that minute).

The store is in-process by default (an LRU per API process). Several API processes each keep
their own: hit rates are lower, but no answer is ever stale, because the key holds the data
versions read from the shared database. ``CRMKPI_CACHE=database`` shares one store in the
database instead (core.metrics.shared_cache), so a result computed by one process is a hit in
every other.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import retry_if_dropped
from core.errors import CrmkpiError
from core.metrics.executor import MetricsExecutor
from core.metrics.query import KpiRequest, KpiResult, Reader, Scope
from core.models import Workspace

#: ``Session.info`` key: {workspace id: data version} as read for this request.
VERSIONS = "crmkpi.data_versions"
#: Data versions as keys carry them: sorted (workspace id, version) pairs.
Versions = tuple[tuple[str, int], ...]


#: Built once: a cached request should not pay for building and compiling a statement.
_VERSIONS = select(Workspace.id, Workspace.data_version).where(
    Workspace.id.in_(bindparam("ids", expanding=True))
)


async def read_versions(reader: Any, workspace_ids: Collection[str]) -> Versions:
    """The data versions of ``workspace_ids`` that exist (``reader``: a session, a
    SerialSession or a connection)."""
    rows = await reader.execute(_VERSIONS, {"ids": sorted(workspace_ids)})
    return tuple(sorted((str(i), int(v)) for i, v in rows.all()))


def known_versions(info: Mapping[Any, Any], workspace_ids: Collection[str]) -> Versions | None:
    """The versions of ``workspace_ids`` already read for this request, or None when some
    were not (the caller reads them)."""
    known = info.get(VERSIONS)
    if not isinstance(known, dict) or any(w not in known for w in workspace_ids):
        return None
    return tuple(sorted((w, int(known[w])) for w in set(workspace_ids)))


def remember_versions(info: dict[Any, Any], versions: Versions) -> None:
    """Keep ``versions`` for the rest of the request (see :func:`known_versions`): only
    for a session that lives one request, as the API's do."""
    known = info.setdefault(VERSIONS, {})
    known.update(versions)


class VersionReads:
    """Data versions for concurrent requests, read in rounds: one statement per round.

    Under load every request read its versions on a connection of its own: 50 dashboard
    clients kept 20 pooled connections busy and opened and closed overflow ones, for one
    indexed row per workspace. Here a request joins the *next* round, which starts once the
    current one is over, so the versions it gets were read after it arrived (never older
    than a commit it could have seen), and one statement on one connection serves every
    request that arrived meanwhile. Outside any transaction on PostgreSQL (no BEGIN, no
    ROLLBACK); a dropped connection is retried once (core.db.retry_if_dropped)."""

    def __init__(self, engine: Callable[[], AsyncEngine]) -> None:
        self.engine = engine
        self._next: tuple[asyncio.Future[dict[str, int]], set[str]] | None = None
        self._reading: asyncio.Task[None] | None = None
        #: Statements run (tests count them).
        self.rounds = 0

    async def read(self, workspace_ids: Collection[str]) -> Versions:
        if self._next is None:
            self._next = (asyncio.get_running_loop().create_future(), set())
        future, wanted = self._next
        wanted.update(workspace_ids)
        if self._reading is None:  # (kept referenced: a task only weakly held may vanish)
            self._reading = asyncio.get_running_loop().create_task(self._rounds())
        found = await asyncio.shield(future)
        return tuple(sorted((w, found[w]) for w in set(workspace_ids) if w in found))

    async def _rounds(self) -> None:
        try:
            while self._next is not None:
                future, wanted = self._next
                self._next = None
                self.rounds += 1
                try:
                    found = await retry_if_dropped(partial(self._read, wanted))
                except Exception as exc:  # every request of the round fails alike
                    future.set_exception(exc)
                    future.exception()  # retrieved here; each waiter raises it too
                else:
                    future.set_result(found)
        finally:
            self._reading = None

    async def _read(self, workspace_ids: Collection[str]) -> dict[str, int]:
        engine = self.engine()
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return dict(await read_versions(conn, workspace_ids))


class ResultStore(Protocol):
    """Where cached results live; keys are hashable tuples of plain values."""

    hits: int
    misses: int

    async def get_many(self, keys: Sequence[Hashable]) -> list[KpiResult | None]: ...

    async def put_many(self, items: Sequence[tuple[Hashable, KpiResult]]) -> None: ...


class LruStore:
    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._items: OrderedDict[Hashable, KpiResult] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> KpiResult | None:
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return found

    def put(self, key: Hashable, value: KpiResult) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    async def get_many(self, keys: Sequence[Hashable]) -> list[KpiResult | None]:
        return [self.get(k) for k in keys]

    async def put_many(self, items: Sequence[tuple[Hashable, KpiResult]]) -> None:
        for key, value in items:
            self.put(key, value)


class CachedExecutor:
    """The executor behind a result cache keyed by data version."""

    def __init__(self, executor: MetricsExecutor, store: ResultStore | None = None) -> None:
        self.executor = executor
        self.store: ResultStore = store or LruStore()

    async def run(
        self,
        session: Reader,
        scope: Scope,
        requests: Sequence[KpiRequest],
        now: datetime | None = None,
    ) -> list[KpiResult | CrmkpiError]:
        now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
        info = getattr(session, "info", None)
        versions = known_versions(info, scope.workspace_ids) if info is not None else None
        if versions is None:  # not read for this request yet (not through the API)
            versions = await read_versions(session, scope.workspace_ids)
        keys = [(scope, versions, request, now) for request in requests]
        results: list[KpiResult | CrmkpiError | None] = list(await self.store.get_many(keys))
        missing = [i for i, r in enumerate(results) if r is None]
        if missing:
            fresh = await self.executor.run(session, scope, [requests[i] for i in missing], now)
            new: list[tuple[Hashable, KpiResult]] = []
            for i, result in zip(missing, fresh, strict=True):
                results[i] = result
                if isinstance(result, KpiResult):
                    new.append((keys[i], result))
            if new:
                await self.store.put_many(new)
        return [r for r in results if r is not None]
