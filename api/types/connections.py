"""CRM connections and their health: last runs, per-stream counts, quarantine, data quality.

Status fields are computed on demand (a few aggregate queries per connection asked for),
so listing connections without them costs one query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy import and_, exists, func, literal, select, union_all
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.pagination import check_page_size, paginate
from api.types.pagination import Connection
from core.models import SYNCED_MODELS, Deal, FxRate, RecordError, Stage, SyncRun, Workspace
from core.models import Connection as ConnectionRow

MAX_RUNS = 50


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@strawberry.type(description="What one stream did in one sync run.")
class StreamRunStats:
    stream: str
    fetched: int | None
    inserted: int | None
    updated: int | None
    deleted: int | None
    quarantined: int | None
    seconds: float | None


@strawberry.type(description="One run of a connection's sync.")
class SyncRunInfo:
    id: strawberry.ID
    mode: str = strawberry.field(description="FULL or INCREMENTAL.")
    status: str = strawberry.field(description="RUNNING, SUCCEEDED, PARTIAL or FAILED.")
    started_at: datetime
    finished_at: datetime | None
    requests: int = strawberry.field(description="HTTP requests made to the CRM.")
    retries: int = strawberry.field(description="Requests retried (rate limits, 5xx).")
    error: str | None = strawberry.field(description="Why it failed, when it did.")
    streams: list[StreamRunStats] = strawberry.field(description="Counts per stream.")

    @classmethod
    def from_row(cls, row: SyncRun) -> SyncRunInfo:
        streams = []
        for name, stats in sorted((row.stream_stats or {}).items()):
            stats = stats if isinstance(stats, dict) else {}
            seconds = stats.get("seconds")
            streams.append(
                StreamRunStats(
                    stream=str(name),
                    fetched=_int(stats.get("fetched")),
                    inserted=_int(stats.get("inserted")),
                    updated=_int(stats.get("updated")),
                    deleted=_int(stats.get("deleted")),
                    quarantined=_int(stats.get("quarantined")),
                    seconds=float(seconds) if isinstance(seconds, int | float) else None,
                )
            )
        return cls(
            id=strawberry.ID(str(row.id)),
            mode=row.mode,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            requests=row.requests,
            retries=row.retries,
            error=row.error,
            streams=streams,
        )


@strawberry.type(description="Records of one type synced by a connection (deleted excluded).")
class StreamCount:
    stream: str
    records: int


@strawberry.type(description="A CRM record that could not be mapped, kept with its reason.")
class QuarantinedRecord:
    id: strawberry.ID
    stream: str
    remote_id: str | None
    reason: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: RecordError) -> QuarantinedRecord:
        return cls(
            id=strawberry.ID(str(row.id)),
            stream=row.stream,
            remote_id=row.remote_id,
            reason=row.reason,
            created_at=row.created_at,
        )


@strawberry.type(description="Counts of records that make KPIs less exact.")
class DataQuality:
    deals_without_amount: int = strawberry.field(description="Deals with no amount.")
    unmapped_stages: int = strawberry.field(
        description="Stages whose kind is unknown: map them in the connection's mappings."
    )
    deals_missing_fx: int = strawberry.field(
        description="Deals in a currency with no FX rate at all to the reporting currency "
        "(left out of money KPIs)."
    )


@strawberry.type(name="CrmConnection", description="A CRM account connected to a workspace.")
class CrmConnection:
    id: strawberry.ID
    workspace_id: strawberry.ID
    connector: str = strawberry.field(description="hubspot, pipedrive, salesforce, ...")
    name: str
    base_url: str | None = strawberry.field(description="API base URL, when not the default.")
    status: str = strawberry.field(description="ACTIVE or PAUSED.")
    schedule: str | None = strawberry.field(description="'15m', '1h' or cron; null: manual.")
    mappings: JSON | None = strawberry.field(description="Field mappings.")
    last_sync_started_at: datetime | None
    last_synced_at: datetime | None
    last_full_sync_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: ConnectionRow) -> CrmConnection:
        return cls(
            id=strawberry.ID(row.id),
            workspace_id=strawberry.ID(row.workspace_id),
            connector=row.connector,
            name=row.name,
            base_url=row.base_url,
            status=row.status,
            schedule=row.schedule,
            mappings=cast(JSON, row.mappings),
            last_sync_started_at=row.last_sync_started_at,
            last_synced_at=row.last_synced_at,
            last_full_sync_at=row.last_full_sync_at,
            created_at=row.created_at,
        )

    @strawberry.field(description="The latest sync runs, newest first.")
    async def last_runs(
        self,
        info: Info[Context, Any],
        limit: Annotated[int, strawberry.argument(description="1..50.")] = 5,
    ) -> list[SyncRunInfo]:
        check_page_size(limit, MAX_RUNS)
        rows = await info.context.session.scalars(
            select(SyncRun)
            .where(SyncRun.connection_id == str(self.id))
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(limit)
        )
        return [SyncRunInfo.from_row(r) for r in rows]

    @strawberry.field(description="Records per stream, from one aggregate query.")
    async def stream_counts(self, info: Info[Context, Any]) -> list[StreamCount]:
        counts = union_all(
            *(
                select(literal(name).label("stream"), func.count().label("n"))
                .select_from(model)
                .where(model.connection_id == str(self.id), model.deleted_at.is_(None))
                for name, model in SYNCED_MODELS.items()
            )
        )
        rows = (await info.context.session.execute(select(counts.subquery()))).all()
        return [StreamCount(stream=stream, records=int(n)) for stream, n in rows]

    @strawberry.field(description="Records that could not be mapped, newest last.")
    async def quarantined(
        self,
        info: Info[Context, Any],
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="endCursor.")] = None,
    ) -> Connection[QuarantinedRecord]:
        check_page_size(first, info.context.settings.max_page_size)
        return await paginate(
            info.context.session,
            RecordError,
            [RecordError.connection_id == str(self.id)],
            kind="record_errors",
            first=first,
            after=after,
            to_node=QuarantinedRecord.from_row,
        )

    @strawberry.field(description="Data-quality counts, from one aggregate query.")
    async def data_quality(self, info: Info[Context, Any]) -> DataQuality:
        conn_id = str(self.id)
        live_deal = and_(Deal.connection_id == conn_id, Deal.deleted_at.is_(None))
        no_rate = ~exists(
            select(FxRate.id).where(
                FxRate.currency == Deal.currency,
                FxRate.base_currency == Workspace.currency,
                FxRate.workspace_id.is_(None) | (FxRate.workspace_id == Deal.workspace_id),
            )
        )
        missing_fx = (
            select(func.count())
            .select_from(Deal)
            .join(Workspace, Workspace.id == Deal.workspace_id)
            .where(
                live_deal,
                Deal.amount.is_not(None),
                Deal.currency.is_not(None),
                Deal.currency != Workspace.currency,
                no_rate,
            )
            .scalar_subquery()
        )
        without_amount = (
            select(func.count()).select_from(Deal).where(live_deal, Deal.amount.is_(None))
        ).scalar_subquery()
        unmapped = (
            select(func.count())
            .select_from(Stage)
            .where(Stage.connection_id == conn_id, Stage.deleted_at.is_(None), Stage.kind.is_(None))
        ).scalar_subquery()
        row = (
            await info.context.session.execute(select(without_amount, unmapped, missing_fx))
        ).one()
        return DataQuality(
            deals_without_amount=int(row[0]),
            unmapped_stages=int(row[1]),
            deals_missing_fx=int(row[2]),
        )
