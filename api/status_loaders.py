"""Per-request DataLoaders for connection status: a list of connections asking for their
last runs, stream counts, quarantine and data quality costs a fixed number of queries
(one or two per field), not a few per connection.

Each loader batches the connections of one request into grouped or windowed queries
through the request's tenant-scoped session (core.tenancy filters them like any other).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, func, literal, select, union_all
from strawberry.dataloader import DataLoader

from api.pagination import encode_cursor, paginate
from api.session import SerialSession
from api.types.pagination import Connection, Edge, PageInfo
from core.models import SYNCED_MODELS, Deal, FxRate, RecordError, Stage, SyncRun, Workspace

#: (connection id, how many runs)
RunsKey = tuple[str, int]
#: (connection id, page size, after cursor)
PageKey = tuple[str, int, str | None]
QUARANTINE_KIND = "record_errors"
QUALITY_KINDS = ("without_amount", "unmapped_stages", "missing_fx")


def _last_runs(session: SerialSession) -> Callable[[Sequence[RunsKey]], Awaitable[list[Any]]]:
    async def load(keys: Sequence[RunsKey]) -> list[Any]:
        ids = sorted({c for c, _ in keys})
        order = (SyncRun.started_at.desc(), SyncRun.id.desc())
        rank = func.row_number().over(partition_by=SyncRun.connection_id, order_by=order)
        ranked = (
            select(SyncRun.id, rank.label("rank")).where(SyncRun.connection_id.in_(ids)).subquery()
        )
        rows = await session.scalars(
            select(SyncRun)
            .join(ranked, ranked.c.id == SyncRun.id)
            .where(ranked.c.rank <= max(n for _, n in keys))
            .order_by(SyncRun.connection_id, *order)
        )
        by_connection: dict[str, list[SyncRun]] = {}
        for run in rows:
            by_connection.setdefault(run.connection_id, []).append(run)
        return [by_connection.get(c, [])[:n] for c, n in keys]

    return load


def _stream_counts(
    session: SerialSession,
) -> Callable[[Sequence[str]], Awaitable[list[list[tuple[str, int]]]]]:
    async def load(keys: Sequence[str]) -> list[list[tuple[str, int]]]:
        ids = sorted(set(keys))
        counts = union_all(
            *(
                select(
                    literal(name).label("stream"),
                    model.connection_id.label("connection_id"),
                    func.count().label("n"),
                )
                .where(model.connection_id.in_(ids), model.deleted_at.is_(None))
                .group_by(model.connection_id)
                for name, model in SYNCED_MODELS.items()
            )
        )
        found: dict[tuple[str, str], int] = {}
        for stream, conn_id, n in (await session.execute(select(counts.subquery()))).all():
            found[(str(conn_id), str(stream))] = int(n)
        return [[(name, found.get((c, name), 0)) for name in SYNCED_MODELS] for c in keys]

    return load


def _page(rows: list[RecordError], first: int, total: int) -> Connection[RecordError]:
    edges = [Edge(cursor=encode_cursor(QUARANTINE_KIND, r.id), node=r) for r in rows[:first]]
    return Connection(
        total_count=total,
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > first,
            has_previous_page=False,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
    )


def _quarantined(
    session: SerialSession,
) -> Callable[[Sequence[PageKey]], Awaitable[list[Connection[RecordError]]]]:
    """First pages of many connections in two queries; a later page (``after``) is a
    single connection being paged through, and goes through ``paginate``."""

    async def load(keys: Sequence[PageKey]) -> list[Connection[RecordError]]:
        firsts = sorted({c for c, _, after in keys if after is None})
        rows_by: dict[str, list[RecordError]] = {}
        totals: dict[str, int] = {}
        if firsts:
            size = max(n for _, n, after in keys if after is None) + 1
            rank = func.row_number().over(
                partition_by=RecordError.connection_id, order_by=RecordError.id
            )
            ranked = (
                select(RecordError.id, rank.label("rank"))
                .where(RecordError.connection_id.in_(firsts))
                .subquery()
            )
            rows = await session.scalars(
                select(RecordError)
                .join(ranked, ranked.c.id == RecordError.id)
                .where(ranked.c.rank <= size)
                .order_by(RecordError.id)
            )
            for row in rows:
                rows_by.setdefault(row.connection_id, []).append(row)
            counted = await session.execute(
                select(RecordError.connection_id, func.count())
                .where(RecordError.connection_id.in_(firsts))
                .group_by(RecordError.connection_id)
            )
            totals = {str(c): int(n) for c, n in counted.all()}
        results: list[Connection[RecordError]] = []
        for conn_id, first, after in keys:
            if after is None:
                results.append(_page(rows_by.get(conn_id, []), first, totals.get(conn_id, 0)))
            else:
                results.append(
                    await paginate(
                        session,
                        RecordError,
                        [RecordError.connection_id == conn_id],
                        kind=QUARANTINE_KIND,
                        first=first,
                        after=after,
                        to_node=lambda row: row,
                    )
                )
        return results

    return load


def _data_quality(
    session: SerialSession,
) -> Callable[[Sequence[str]], Awaitable[list[dict[str, int]]]]:
    async def load(keys: Sequence[str]) -> list[dict[str, int]]:
        ids = sorted(set(keys))
        live_deal = and_(Deal.connection_id.in_(ids), Deal.deleted_at.is_(None))
        no_rate = ~exists(
            select(FxRate.id).where(
                FxRate.currency == Deal.currency,
                FxRate.base_currency == Workspace.currency,
                FxRate.workspace_id.is_(None) | (FxRate.workspace_id == Deal.workspace_id),
            )
        )
        without_amount = (
            select(literal(QUALITY_KINDS[0]).label("kind"), Deal.connection_id, func.count())
            .where(live_deal, Deal.amount.is_(None))
            .group_by(Deal.connection_id)
        )
        unmapped = (
            select(literal(QUALITY_KINDS[1]).label("kind"), Stage.connection_id, func.count())
            .where(Stage.connection_id.in_(ids), Stage.deleted_at.is_(None), Stage.kind.is_(None))
            .group_by(Stage.connection_id)
        )
        missing_fx = (
            select(literal(QUALITY_KINDS[2]).label("kind"), Deal.connection_id, func.count())
            .join(Workspace, Workspace.id == Deal.workspace_id)
            .where(
                live_deal,
                Deal.amount.is_not(None),
                Deal.currency.is_not(None),
                Deal.currency != Workspace.currency,
                no_rate,
            )
            .group_by(Deal.connection_id)
        )
        both = union_all(without_amount, unmapped, missing_fx).subquery()
        found: dict[tuple[str, str], int] = {}
        for kind, conn_id, n in (await session.execute(select(both))).all():
            found[(str(conn_id), str(kind))] = int(n)
        return [{k: found.get((c, k), 0) for k in QUALITY_KINDS} for c in keys]

    return load


@dataclass(frozen=True)
class StatusLoaders:
    """Created for each request (never shared), like api.loaders.Loaders."""

    last_runs: DataLoader[RunsKey, list[SyncRun]]
    stream_counts: DataLoader[str, list[tuple[str, int]]]
    quarantined: DataLoader[PageKey, Connection[RecordError]]
    data_quality: DataLoader[str, dict[str, int]]

    @classmethod
    def create(cls, session: SerialSession) -> StatusLoaders:
        return cls(
            last_runs=DataLoader(load_fn=_last_runs(session)),
            stream_counts=DataLoader(load_fn=_stream_counts(session)),
            quarantined=DataLoader(load_fn=_quarantined(session)),
            data_quality=DataLoader(load_fn=_data_quality(session)),
        )
