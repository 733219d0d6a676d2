"""Declarative Pipedrive streams: paths, paginators and which mapping function to call.

Two page shapes exist. v2 lists page with an opaque cursor
(``additional_data.next_cursor``, null at the end) and filter by ``updated_since``
(inclusive); v1 lists page by offset (``additional_data.pagination.next_start`` while
``more_items_in_collection``). Incremental v2 reads sort by ``update_time`` ascending so
the engine's cursor (update time, id) only moves forward, page by page.

Streams share what later streams need through ``ctx.shared`` (keys in :class:`Shared`):
field catalogs, team membership, stage -> pipeline and lead conversions. The stage history
stream lives in stage_history.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connectors.pipedrive import mapping, settings
from connectors.pipedrive._base import (
    V1_PAGINATOR,
    V2_PAGINATOR,
    PipedriveStream,
    Shared,
    field_catalog,
    listed_ids,
    page_data,
    read_all,
    rfc3339_since,
    since_params,
)
from connectors.pipedrive.objects import (
    OrganizationsStream,
    PersonsStream,
    PipelinesStream,
    TeamsStream,
)
from connectors.pipedrive.stage_history import DealStageHistoryStream
from core.sync.connector import Cursor, HttpClient, Request, Stream, StreamContext
from core.sync.mappings import FieldMappings
from core.sync.records import (
    ActivityRecord,
    AnyRecord,
    CurrencyRecord,
    DealRecord,
    DealStageHistoryRecord,
    LeadRecord,
    Record,
    StageRecord,
    UserRecord,
)

__all__ = [
    "OrganizationsStream",
    "PersonsStream",
    "PipedriveStream",
    "PipelinesStream",
    "Shared",
    "TeamsStream",
    "all_streams",
]


class UsersStream(PipedriveStream):
    """Users (v1 only lists them). A user's team is read from the teams list here rather
    than through a dependency on the teams stream, so that plans without teams still get
    their users."""

    name = "users"
    produces = (UserRecord,)
    path = settings.V1_USERS
    paginator = V1_PAGINATOR

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        if Shared.TEAM_OF_USER in ctx.shared:
            return
        try:
            teams = await read_all(http, Request(path=settings.V1_TEAMS), V1_PAGINATOR)
        except Exception as exc:
            # 402/403: the plan has no teams; anything else is a real failure.
            if getattr(exc, "status", None) not in (402, 403, 404):
                raise
            teams = []
        ctx.shared[Shared.TEAM_OF_USER] = mapping.team_members(teams)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_user(raw, ctx.shared.get(Shared.TEAM_OF_USER, {}))]


class StagesStream(PipedriveStream):
    name = "stages"
    produces = (StageRecord,)
    path = settings.V2_STAGES

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        record = mapping.map_stage(raw)
        if record.pipeline_remote_id is not None:
            ctx.shared.setdefault(Shared.PIPELINE_OF_STAGE, {})[record.remote_id] = (
                record.pipeline_remote_id
            )
        return [record]


class CurrenciesStream(PipedriveStream):
    """Currencies (``/v1/currencies``, one unpaged list, re-read whole every run: a full
    sync's sweep retires the ones that disappeared). They tell which deal currencies are
    known and which are custom; Pipedrive has no FX rates to go with them."""

    name = "currencies"
    produces = (CurrencyRecord,)
    path = settings.V1_CURRENCIES
    paginator = V1_PAGINATOR

    def first_request(self, ctx: StreamContext) -> Request:
        return Request(path=self.path)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_currency(raw)]


class DealsStream(PipedriveStream):
    """Deals, incremental; deleted (``status=deleted``, 30 days) and archived deals are
    listed as deletions. Remembers lead conversions (for the leads stream); the stage
    history of moved deals is the deal_stage_history stream's (stage_history.py)."""

    name = "deals"
    produces = (DealRecord, DealStageHistoryRecord)
    incremental = True
    finds_deletions = True
    path = settings.V2_DEALS

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await field_catalog(http, ctx, "deal")
        ctx.shared[Shared.DEALS_WINDOW] = ctx.since()

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        records = mapping.map_deal(raw, ctx.shared[Shared.fields("deal")])
        if raw.get("source_lead_id"):
            _remember_conversion(ctx, raw)
        return records

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        params = since_params(ctx, status="deleted")
        return Request(path=settings.V2_DEALS, params=params)

    def next_deletions_request(
        self, page: Any, request: Request, ctx: StreamContext
    ) -> Request | None:
        nxt = V2_PAGINATOR.next_request(page, request)
        if nxt is not None or request.path == settings.V2_ARCHIVED_DEALS:
            return nxt
        params = {k: v for k, v in (request.params or {}).items() if k not in ("cursor", "status")}
        return Request(path=settings.V2_ARCHIVED_DEALS, params=params)

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        return listed_ids(page, DealRecord)


class LeadsStream(PipedriveStream):
    """Leads (v1 only lists them), incremental by ``updated_since``; archived leads are
    deletions. Runs after deals to know which leads became deals."""

    name = "leads"
    produces = (LeadRecord,)
    depends_on = ("deals",)
    incremental = True
    finds_deletions = True
    path = settings.V1_LEADS
    paginator = V1_PAGINATOR

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await field_catalog(http, ctx, "deal")
        if Shared.LEAD_LABELS not in ctx.shared:
            labels = await read_all(http, Request(path=settings.V1_LEAD_LABELS), V1_PAGINATOR)
            ctx.shared[Shared.LEAD_LABELS] = {str(x["id"]): str(x.get("name")) for x in labels}
        since = rfc3339_since(ctx)
        deals_read_whole = (
            Shared.DEALS_WINDOW in ctx.shared and ctx.shared[Shared.DEALS_WINDOW] is None
        )
        if since is not None or not deals_read_whole:
            # A lead read in this window may have been converted by a deal outside the
            # deals window: deals updated since the lead window began include every deal
            # converted from such a lead (a deal is created after its lead's last update).
            # A lead read whole (first run, or after a crash) needs every deal unless the
            # deals stream read them all in this run.
            request: Request | None = Request(path=settings.V2_DEALS, params=since_params(ctx))
            while request is not None:
                page = await http.send(request)
                for deal in page_data(page):
                    if deal.get("source_lead_id") and deal.get("id") is not None:
                        _remember_conversion(ctx, deal)
                request = V2_PAGINATOR.next_request(page, request)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [
            mapping.map_lead(
                raw,
                ctx.shared[Shared.fields("deal")],
                ctx.shared.get(Shared.LEAD_LABELS, {}),
                ctx.shared.get(Shared.CONVERSIONS, {}),
                _field_mappings(ctx).lifecycle_kind,
            )
        ]

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        return Request(path=settings.V1_ARCHIVED_LEADS, params=since_params(ctx))

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        return listed_ids(page, LeadRecord)


class ActivitiesStream(PipedriveStream):
    name = "activities"
    produces = (ActivityRecord,)
    incremental = True
    finds_deletions = True
    deleted_item_type = "activity"
    deleted_record = ActivityRecord
    path = settings.V2_ACTIVITIES

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        if Shared.ACTIVITY_ICONS not in ctx.shared:
            types = await read_all(http, Request(path=settings.V1_ACTIVITY_TYPES), V1_PAGINATOR)
            ctx.shared[Shared.ACTIVITY_ICONS] = {
                str(t.get("key_string")): str(t.get("icon_key")) for t in types
            }

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_activity(raw, ctx.shared.get(Shared.ACTIVITY_ICONS, {}))]


class NotesStream(PipedriveStream):
    """Notes (v1 only): activities of type NOTE, ids prefixed ``note:``."""

    name = "notes"
    produces = (ActivityRecord,)
    incremental = True
    finds_deletions = True
    deleted_item_type = "note"
    deleted_record = ActivityRecord
    path = settings.V1_NOTES
    paginator = V1_PAGINATOR

    def deleted_id(self, item_id: Any) -> str:
        return mapping.note_id(item_id)

    def remote_id_of(self, raw: Mapping[str, Any]) -> str | None:
        return None if raw.get("id") is None else mapping.note_id(raw["id"])

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_note(raw)]

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        cursor = super().cursor_of(raw)
        return None if cursor is None else Cursor(cursor.updated_at, mapping.note_id(raw["id"]))


def _remember_conversion(ctx: StreamContext, deal: Mapping[str, Any]) -> None:
    """Lead id -> (deal id, deal add time, deal organization), for the leads stream."""
    org = mapping.foreign_id(deal.get("org_id"))
    ctx.shared.setdefault(Shared.CONVERSIONS, {})[str(deal["source_lead_id"])] = (
        str(deal["id"]),
        mapping.parse_time(deal.get("add_time"), "deal.add_time"),
        org,
    )


def _field_mappings(ctx: StreamContext) -> FieldMappings:
    """The connection's field mappings, parsed once per run."""
    parsed = ctx.shared.get(Shared.FIELD_MAPPINGS)
    if parsed is None:
        parsed = ctx.shared[Shared.FIELD_MAPPINGS] = ctx.mappings
    result: FieldMappings = parsed
    return result


def all_streams() -> list[Stream]:
    """Every stream, in dependency order."""
    return [
        TeamsStream(),
        UsersStream(),
        PipelinesStream(),
        StagesStream(),
        CurrenciesStream(),
        OrganizationsStream(),
        PersonsStream(),
        DealsStream(),
        LeadsStream(),
        ActivitiesStream(),
        NotesStream(),
        DealStageHistoryStream(),
    ]
