"""The metric result cache in the database, shared by every API process.

Chosen with ``CRMKPI_CACHE=database`` (the default is the in-process LRU of
core.metrics.cache). Entries are keyed by a SHA-256 of the cache key, which already holds the
workspaces' data versions, so a sync never leaves a stale hit: the next request simply
misses. ``expires_at`` bounds how long an unused entry stays; expired rows are ignored on
read and purged as new results are written.

Results are stored as JSON through a pydantic ``TypeAdapter`` of the ``KpiResult``
dataclass (no pickle: nothing read from the database is ever executed). The cache is an
optimisation: a failing read counts as misses and a failing write is logged, so the answer
is computed and returned either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable, Sequence
from datetime import timedelta

import structlog
from pydantic import TypeAdapter
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.metrics.query import KpiResult
from core.models import MetricCacheEntry, utcnow

_log = structlog.get_logger(__name__)
_RESULT = TypeAdapter(KpiResult)
DEFAULT_TTL = timedelta(minutes=10)


def cache_key(key: Hashable) -> str:
    """A stable digest of a key made of tuples, strings, numbers, dates and dataclasses
    (their ``repr`` does not depend on the process)."""
    return hashlib.sha256(repr(key).encode()).hexdigest()


class DatabaseStore:
    """A ``ResultStore`` in the ``metric_cache`` table."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], ttl: timedelta = DEFAULT_TTL
    ) -> None:
        self.sessionmaker = sessionmaker
        self.ttl = ttl
        self.hits = 0
        self.misses = 0

    async def get_many(self, keys: Sequence[Hashable]) -> list[KpiResult | None]:
        digests = [cache_key(k) for k in keys]
        try:
            async with self.sessionmaker() as session:
                rows = await session.execute(
                    select(MetricCacheEntry.key, MetricCacheEntry.value).where(
                        MetricCacheEntry.key.in_(set(digests)),
                        MetricCacheEntry.expires_at > utcnow(),
                    )
                )
                found = {k: v for k, v in rows.all()}
        except Exception as exc:  # the cache is optional: compute instead
            _log.warning("metrics.cache_read_failed", error=type(exc).__name__)
            found = {}
        results: list[KpiResult | None] = []
        for digest in digests:
            value = found.get(digest)
            results.append(_RESULT.validate_json(value) if value is not None else None)
        hits = sum(r is not None for r in results)
        self.hits += hits
        self.misses += len(results) - hits
        return results

    async def put_many(self, items: Sequence[tuple[Hashable, KpiResult]]) -> None:
        now = utcnow()
        values = {cache_key(key): _RESULT.dump_json(result).decode() for key, result in items}
        rows = [{"key": k, "value": v, "expires_at": now + self.ttl} for k, v in values.items()]
        try:
            async with self.sessionmaker() as session:
                dialect = (await session.connection()).dialect.name
                insert = pg_insert if dialect == "postgresql" else sqlite_insert
                stmt = insert(MetricCacheEntry).values(rows)
                await session.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[MetricCacheEntry.key],
                        set_={"value": stmt.excluded.value, "expires_at": stmt.excluded.expires_at},
                    )
                )
                await session.execute(
                    delete(MetricCacheEntry).where(MetricCacheEntry.expires_at <= now)
                )
                await session.commit()
        except Exception as exc:  # a lost write only costs a later recomputation
            _log.warning("metrics.cache_write_failed", error=type(exc).__name__)
