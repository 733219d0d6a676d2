"""API keys authenticated from memory: the viewer of a key is read once, then kept briefly.

Reading the key (and its organization's workspaces) and writing ``last_used_at`` on every
request cost about a third of a cached answer's CPU (issue #19). The viewer of a key is now
kept in this process for ``api_key_cache_seconds`` (5 s by default), and dropped at once
when it may have changed:

- a commit in this process that revokes or changes a key, or adds or deletes a workspace or
  organization, clears the cache right after it commits (core.viewer_changes);
- on PostgreSQL, such a commit in *any* process (another API process, ``crmkpi apikey
  revoke``) sends ``NOTIFY crmkpi_viewers`` with it, and :class:`ViewerChangesListener`
  clears this process's cache when PostgreSQL delivers it, a few milliseconds later. While
  the listening connection is down nothing is heard, so the cache is cleared again once it
  is back;
- whatever neither can see (raw SQL on ``api_keys``; another process on SQLite) is bounded
  by the time to live: a revoked key is refused within seconds everywhere.

Why not one cheap query per request instead: that query is the cost being removed, and a
notification reaches every process within milliseconds of the commit. ``last_used_at`` is
written when a key is read, so it is exact to the time to live. Unknown keys are not kept:
each costs a lookup, as before (the rate limit bounds them). The cache is keyed by the
key's SHA-256, never the key itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.tasks import stop_task
from core.tenancy import Viewer, authenticate, hash_key
from core.viewer_changes import CHANNEL, on_change

_log = structlog.get_logger(__name__)


class KeyCache:
    """Viewers of recently authenticated keys, for ``ttl`` seconds (0: not kept)."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: float,
        capacity: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.ttl = ttl
        self.capacity = capacity
        self.clock = clock
        self._kept: OrderedDict[str, tuple[Viewer, float]] = OrderedDict()
        self._pending: dict[str, asyncio.Future[Viewer | None]] = {}
        #: Bumped by every clear: a lookup begun before a clear is not kept after it.
        self.epoch = 0
        #: Keys read from the database (tests and benchmarks count them).
        self.lookups = 0

    def clear(self) -> None:
        self._kept.clear()
        self._pending.clear()
        self.epoch += 1

    async def viewer(self, token: str) -> Viewer | None:
        """The viewer of ``token``, or None for a key that is unknown or revoked."""
        digest = hash_key(token)
        found = self._kept.get(digest)
        if found is not None:
            if found[1] > self.clock():
                return found[0]
            del self._kept[digest]
        pending = self._pending.get(digest)
        if pending is not None:  # the same key is being read: wait for that read
            return await asyncio.shield(pending)
        future: asyncio.Future[Viewer | None] = asyncio.get_running_loop().create_future()
        self._pending[digest] = future
        epoch = self.epoch
        try:
            viewer = await self._lookup(token)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters, if any, get it too
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            if self._pending.get(digest) is future:
                del self._pending[digest]
        future.set_result(viewer)
        if viewer is not None and self.ttl > 0 and epoch == self.epoch:
            self._kept[digest] = (viewer, self.clock() + self.ttl)
            while len(self._kept) > self.capacity:
                self._kept.popitem(last=False)
        return viewer

    async def _lookup(self, token: str) -> Viewer | None:
        self.lookups += 1
        async with self.sessionmaker() as session:
            viewer = await authenticate(session, token)
            if viewer is not None:
                await session.commit()  # last_used_at
        return viewer


class ViewerChangesListener:
    """``LISTEN crmkpi_viewers`` on a connection of its own (PostgreSQL): every notification
    clears ``cache``; so does every (re)connection, since notifications sent while not
    listening are lost. Reconnects with a growing pause while the database is away."""

    def __init__(self, engine: AsyncEngine, cache: KeyCache) -> None:
        self.engine = engine
        self.cache = cache
        #: Set on each notification heard and each time listening starts.
        self.heard = asyncio.Event()
        self.listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="crmkpi.viewer-changes")

    async def stop(self) -> None:
        if self._task is not None:
            await stop_task(self._task)

    def _notified(self, *_: Any) -> None:
        self.cache.clear()
        self.heard.set()

    async def _run(self) -> None:
        pause = 0.5
        while True:
            try:
                await self._listen()
                pause = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # reconnect: the TTL bounds staleness meanwhile
                _log.warning("auth.listener_lost", error=type(exc).__name__)
            self.listening.clear()
            self.cache.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)

    async def _listen(self) -> None:
        async with self.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            lost = asyncio.Event()

            def terminated(*_: Any) -> None:
                lost.set()

            driver.add_termination_listener(terminated)
            await driver.add_listener(CHANNEL, self._notified)
            try:
                self.cache.clear()
                self.listening.set()
                self.heard.set()
                await lost.wait()
            finally:
                driver.remove_termination_listener(terminated)
                if not driver.is_closed():
                    with contextlib.suppress(Exception):
                        await driver.remove_listener(CHANNEL, self._notified)


class Authenticator:
    """The app's key cache, told of changes in this process and (PostgreSQL) in others."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession],
        ttl: float,
        *,
        also: Sequence[AsyncEngine] = (),
    ) -> None:
        """``also``: other engines of this process that commit viewer changes (the requests'
        own pool, api.session): a change they commit clears the cache at once as well, not
        only when PostgreSQL delivers its notification."""
        self.keys = KeyCache(sessionmaker, ttl=ttl)
        engines = {id(e.sync_engine): e.sync_engine for e in (engine, *also)}
        self._removers = [on_change(e, self.keys.clear) for e in engines.values()]
        self.listener: ViewerChangesListener | None = None
        if engine.dialect.name == "postgresql" and ttl > 0:
            self.listener = ViewerChangesListener(engine, self.keys)
            self.listener.start()

    async def ready(self, seconds: float = 5.0) -> None:
        """Wait (at most ``seconds``) until the listener listens, so the app serves with it
        in place; if the database is away the listener keeps trying, and the TTL holds."""
        if self.listener is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.listener.listening.wait(), seconds)

    async def viewer(self, token: str) -> Viewer | None:
        return await self.keys.viewer(token)

    async def close(self) -> None:
        for remove in self._removers:
            remove()
        if self.listener is not None:
            await self.listener.stop()
