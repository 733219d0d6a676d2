"""How current the data behind a KPI is: the connections it read and their last syncs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from core.metrics.dimensions import Dimension
from core.metrics.query import Freshness, Reader
from core.metrics.segments import Segment
from core.models import Connection

#: A connection whose last successful sync is older than this is listed as stale.
STALE_AFTER = timedelta(hours=24)

ConnectionRow = tuple[str, str, datetime | None]


async def load_connections(session: Reader, workspace_ids: Sequence[str]) -> list[ConnectionRow]:
    """(id, workspace id, last successful sync) of every connection in scope."""
    rows = await session.execute(
        select(Connection.id, Connection.workspace_id, Connection.last_synced_at).where(
            Connection.workspace_id.in_(workspace_ids)
        )
    )
    return [(r[0], r[1], r[2]) for r in rows]


def freshness(connections: Sequence[ConnectionRow], segment: Segment, now: datetime) -> Freshness:
    """The oldest last sync among the connections the segment reads; never-synced is None."""
    allowed: dict[Dimension, set[str]] = {}
    for ref, values in segment.filters:
        if ref.dimension in (Dimension.CONNECTION, Dimension.WORKSPACE):
            allowed[ref.dimension] = set(values)
    read = [
        (cid, synced)
        for cid, ws, synced in connections
        if cid in allowed.get(Dimension.CONNECTION, {cid})
        and ws in allowed.get(Dimension.WORKSPACE, {ws})
    ]
    stale = tuple(
        sorted(cid for cid, synced in read if synced is None or now - synced > STALE_AFTER)
    )
    synced_times = [synced for _, synced in read]
    oldest = (
        None
        if not synced_times or None in synced_times
        else min(t for t in synced_times if t is not None)
    )
    return Freshness(oldest, stale)
