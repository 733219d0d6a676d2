"""How current the data behind a KPI is: the connections it read and their last syncs.

A connection is stale for a KPI when its last successful sync is older than
:data:`STALE_AFTER`, or when its last finished run left a stream that writes a table the
KPI reads out of date (FAILED, BLOCKED by a failed stream, or STOPPED at the API limit):
the KPI then answers from data that misses that stream's changes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Table, func, select
from sqlalchemy.sql import visitors

from core.metrics.dimensions import Dimension
from core.metrics.query import Freshness, Reader
from core.metrics.registry import MetricRegistry
from core.metrics.segments import Segment
from core.metrics.sources import source
from core.metrics.types import Entity
from core.models import Connection, SyncRun
from core.models.enums import SyncStatus
from core.sync.capabilities import Capabilities
from core.sync.runs import INCOMPLETE

#: A connection whose last successful sync is older than this is listed as stale.
STALE_AFTER = timedelta(hours=24)
#: The table money measures convert with.
FX_TABLE = "fx_rates"


@dataclass(frozen=True, slots=True)
class ConnectionRow:
    """A connection in a metrics query's scope, as freshness and the capability gate see it."""

    id: str
    workspace_id: str
    synced_at: datetime | None
    connector: str = ""
    #: Tables written by the streams its last finished run left out of date.
    out_of_date: frozenset[str] = frozenset()
    capabilities: Capabilities = field(default_factory=Capabilities)


async def load_connections(session: Reader, workspace_ids: Sequence[str]) -> list[ConnectionRow]:
    """Every connection in scope: last successful sync, capabilities, and the tables its
    last finished run left out of date, in one query (one round trip per request, #19)."""
    latest = (
        select(func.max(SyncRun.id))
        .where(
            SyncRun.connection_id == Connection.id,
            SyncRun.workspace_id.in_(workspace_ids),
            SyncRun.status != SyncStatus.RUNNING.value,
        )
        .correlate(Connection)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            Connection.id,
            Connection.workspace_id,
            Connection.last_synced_at,
            Connection.connector,
            Connection.capabilities,
            SyncRun.stream_stats,
        )
        .select_from(Connection)
        .outerjoin(SyncRun, SyncRun.id == latest)
        .where(Connection.workspace_id.in_(workspace_ids))
    )
    return [
        ConnectionRow(
            id=r[0],
            workspace_id=r[1],
            synced_at=r[2],
            connector=r[3],
            out_of_date=_out_of_date(r[5]),
            capabilities=Capabilities.from_json(r[4]),
        )
        for r in rows
    ]


def _out_of_date(stream_stats: object) -> frozenset[str]:
    if not isinstance(stream_stats, dict):
        return frozenset()
    tables: set[str] = set()
    for stats in stream_stats.values():
        if isinstance(stats, dict) and stats.get("status") in INCOMPLETE:
            tables.update(str(t) for t in stats.get("tables") or ())
    return frozenset(tables)


def in_scope(connections: Iterable[ConnectionRow], segment: Segment) -> list[ConnectionRow]:
    """The connections a segment reads (its connection and workspace filters)."""
    allowed: dict[Dimension, set[str]] = {}
    for ref, values in segment.filters:
        if ref.dimension in (Dimension.CONNECTION, Dimension.WORKSPACE):
            allowed[ref.dimension] = set(values)
    return [
        c
        for c in connections
        if c.id in allowed.get(Dimension.CONNECTION, {c.id})
        and c.workspace_id in allowed.get(Dimension.WORKSPACE, {c.workspace_id})
    ]


@functools.cache
def entity_tables(entity: Entity) -> frozenset[str]:
    """The tables an entity's SQL source reads, found in the statement itself (so they
    follow the source as it changes)."""
    statement = source(entity, ["-"])
    found = {e.name for e in visitors.iterate(statement) if isinstance(e, Table)}
    if isinstance(statement, Table):
        found.add(statement.name)
    return frozenset(found)


def kpi_tables(registry: MetricRegistry, name: str) -> frozenset[str]:
    """The tables a KPI reads: its entities' sources, and the FX rates for money."""
    kpi = registry.get(name)
    if kpi is None:
        return frozenset()
    tables = set().union(*(entity_tables(e) for e in registry.entities(kpi)))
    if registry.money_measures(kpi):
        tables.add(FX_TABLE)
    return frozenset(tables)


def freshness(
    connections: Sequence[ConnectionRow],
    segment: Segment,
    now: datetime,
    tables: frozenset[str] = frozenset(),
) -> Freshness:
    """The oldest last sync among the connections the segment reads (never-synced is None),
    and the stale ones: synced too long ago, or left out of date in one of ``tables``."""
    read = in_scope(connections, segment)
    stale = tuple(
        sorted(
            c.id
            for c in read
            if c.synced_at is None
            or now - c.synced_at > STALE_AFTER
            or not c.out_of_date.isdisjoint(tables)
        )
    )
    synced_times = [c.synced_at for c in read]
    oldest = (
        None
        if not synced_times or None in synced_times
        else min(t for t in synced_times if t is not None)
    )
    return Freshness(oldest, stale)
