"""CRM connections and their health: last runs, per-stream counts, quarantine, data quality.

Status fields are computed on demand and batched over the connections of a request
(api.status_loaders), so a list costs the same few queries whatever its length.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from api.context import Context
from api.pagination import check_page_size, decode_cursor
from api.status_loaders import QUARANTINE_KIND
from api.types._convert import from_attributes
from api.types.pagination import Connection, Edge
from core.models import Connection as ConnectionRow
from core.models import RecordError, SyncRun
from core.sync.capabilities import Capabilities
from core.sync.scheduler import next_runs

MAX_RUNS = 50


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@strawberry.type(description="What one stream did in one sync run.")
class StreamRunStats:
    stream: str
    status: str | None = strawberry.field(
        description="DONE, FAILED, SKIPPED (a capability the account lacks: fine), BLOCKED "
        "(a stream it depends on failed), STOPPED (daily API limit), PENDING or RUNNING."
    )
    error: str | None = strawberry.field(
        description="Why it failed, was skipped, blocked or stopped."
    )
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
            status, error = stats.get("status"), stats.get("error")
            streams.append(
                StreamRunStats(
                    stream=str(name),
                    status=str(status) if status is not None else None,
                    error=str(error) if error is not None else None,
                    fetched=_int(stats.get("fetched")),
                    inserted=_int(stats.get("inserted")),
                    updated=_int(stats.get("updated")),
                    deleted=_int(stats.get("deleted")),
                    quarantined=_int(stats.get("quarantined")),
                    seconds=float(seconds) if isinstance(seconds, int | float) else None,
                )
            )
        return from_attributes(cls, row, id=strawberry.ID(str(row.id)), streams=streams)


@strawberry.type(description="Something a CRM account may or may not offer.")
class ConnectionCapability:
    key: str = strawberry.field(description="leads_object, multi_currency, teams, ...")
    title: str
    available: bool = strawberry.field(
        description="False only when known to be missing (UNKNOWN counts as available)."
    )
    status: str = strawberry.field(description="AVAILABLE, UNAVAILABLE or UNKNOWN.")
    reason: str | None = strawberry.field(description="Why it is unavailable (the CRM's answer).")
    streams: list[str] = strawberry.field(description="Streams skipped while it is unavailable.")
    kpis: list[str] = strawberry.field(
        description="KPIs that answer null when no connection in scope has it."
    )


def capabilities_of(data: Any) -> list[ConnectionCapability]:
    return [
        ConnectionCapability(
            key=c.key,
            title=c.title,
            available=c.available,
            status=c.status.value,
            reason=c.reason,
            streams=list(c.streams),
            kpis=list(c.kpis),
        )
        for c in Capabilities.from_json(data).values()
    ]


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
        return from_attributes(cls, row, id=strawberry.ID(str(row.id)))


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
    full_sync_schedule: str | None = strawberry.field(
        description="When the full reconciliation (deletions) runs: an interval, cron or "
        "'off'; null: nightly."
    )
    next_sync_at: datetime | None = strawberry.field(
        description="When the scheduler next syncs it; null: manual or paused."
    )
    next_full_sync_at: datetime | None = strawberry.field(
        description="From when its scheduled runs are full reconciliations; null: none."
    )
    mappings: JSON | None = strawberry.field(description="Field mappings.")
    options: JSON | None = strawberry.field(
        description="The connector's non-secret options set on this connection."
    )
    capabilities: list[ConnectionCapability] = strawberry.field(
        description="What the account offers, from the last discovery (connection add, "
        "verifyCredentials, `crmkpi connection check`, full syncs) and what syncs learnt."
    )
    capabilities_checked_at: datetime | None = strawberry.field(
        description="When the capabilities were last discovered."
    )
    last_sync_started_at: datetime | None
    last_synced_at: datetime | None
    last_full_sync_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: ConnectionRow) -> CrmConnection:
        next_sync, next_full = next_runs(row)
        return cls(
            id=strawberry.ID(row.id),
            workspace_id=strawberry.ID(row.workspace_id),
            connector=row.connector,
            name=row.name,
            base_url=row.base_url,
            status=row.status,
            schedule=row.schedule,
            full_sync_schedule=row.full_sync_schedule,
            next_sync_at=next_sync,
            next_full_sync_at=next_full,
            mappings=cast(JSON, row.mappings),
            options=cast(JSON, row.options),
            capabilities=capabilities_of(row.capabilities),
            capabilities_checked_at=row.capabilities_checked_at,
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
        rows = await info.context.status.last_runs.load((str(self.id), limit))
        return [SyncRunInfo.from_row(r) for r in rows]

    @strawberry.field(description="Records per stream (batched over a list of connections).")
    async def stream_counts(self, info: Info[Context, Any]) -> list[StreamCount]:
        counts = await info.context.status.stream_counts.load(str(self.id))
        return [StreamCount(stream=stream, records=n) for stream, n in counts]

    @strawberry.field(description="Records that could not be mapped, newest last.")
    async def quarantined(
        self,
        info: Info[Context, Any],
        first: Annotated[int, strawberry.argument(description="Page size.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="endCursor.")] = None,
    ) -> Connection[QuarantinedRecord]:
        check_page_size(first, info.context.settings.max_page_size)
        if after is not None:
            decode_cursor(QUARANTINE_KIND, after)  # a bad cursor fails this field only
        page = await info.context.status.quarantined.load((str(self.id), first, after))
        return Connection(
            total_count=page.total_count,
            edges=[
                Edge(cursor=e.cursor, node=QuarantinedRecord.from_row(e.node)) for e in page.edges
            ],
            page_info=page.page_info,
        )

    @strawberry.field(description="Data-quality counts (batched over a list of connections).")
    async def data_quality(self, info: Info[Context, Any]) -> DataQuality:
        counts = await info.context.status.data_quality.load(str(self.id))
        return DataQuality(
            deals_without_amount=counts["without_amount"],
            unmapped_stages=counts["unmapped_stages"],
            deals_missing_fx=counts["missing_fx"],
        )
