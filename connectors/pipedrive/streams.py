"""Pipedrive streams: paths, paginators and which mapping function to call.

Two page shapes exist. v2 lists page with an opaque cursor
(``additional_data.next_cursor``, null at the end) and filter by ``updated_since``
(inclusive); v1 lists page by offset (see ``_base.V1Paginator``). Incremental v2 reads
sort by ``update_time`` ascending so the engine's cursor (update time, id) only moves
forward, page by page.

Deals and leads read several lists in a row and are written as plain ``read`` loops;
the others are declarative. Streams share what later streams need through the typed run
state (_state.py): field catalogs, team membership, stage -> pipeline and lead
conversions. The stage history stream lives in stage_history.py; deletions are described
in docs/connectors/pipedrive.md.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from connectors.pipedrive import mapping, settings
from connectors.pipedrive._base import (
    V1_PAGINATOR,
    V2_PAGINATOR,
    PipedriveStream,
    catalog_of,
    field_catalog,
    page_data,
    read_optional,
    rfc3339_since,
    since_params,
)
from connectors.pipedrive._capabilities import (
    CAP_ACTIVITY_TYPES,
    CAP_ARCHIVED_DEALS,
    CAP_LEAD_LABELS,
    CAP_NOTES,
    CAP_TEAMS,
)
from connectors.pipedrive._state import run_state
from connectors.pipedrive.leads import BY_ID, converted_leads
from connectors.pipedrive.objects import (
    OrganizationsStream,
    PersonsStream,
    PipelinesStream,
    TeamsStream,
)
from connectors.pipedrive.stage_history import DealStageHistoryStream
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Cursor, HttpClient, Page, Request, Stream, StreamContext
from core.sync.records import (
    ActivityRecord,
    AnyRecord,
    CurrencyRecord,
    DealRecord,
    DealStageHistoryRecord,
    LeadRecord,
    StageRecord,
    UserRecord,
)

__all__ = [
    "OrganizationsStream",
    "PersonsStream",
    "PipedriveStream",
    "PipelinesStream",
    "TeamsStream",
    "all_streams",
]


class UsersStream(PipedriveStream):
    """Users (v1 only lists them). A user's team is read from the teams list here rather
    than through a dependency on the teams stream, so that accounts without teams (a
    plan without them, a non-admin token) still get their users."""

    name = "users"
    produces = (UserRecord,)
    path = settings.V1_USERS
    paginator = V1_PAGINATOR
    unpaged = True

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        state = run_state(ctx)
        if state.team_of_user is not None:
            return
        teams = None
        if ctx.capabilities.available(CAP_TEAMS):
            teams = await read_optional(http, Request(path=settings.V1_TEAMS, capability=CAP_TEAMS))
        state.team_of_user = mapping.team_members(teams or [])

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_user(raw, run_state(ctx).team_of_user or {})]


class StagesStream(PipedriveStream):
    """Stages (read whole every run), then each pipeline's won and lost stages, which
    Pipedrive does not have (``mapping.closed_stages``), ordered after its last stage."""

    name = "stages"
    produces = (StageRecord,)
    path = settings.V2_STAGES

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        last_order: dict[str, int] = {}
        async for page in super().read(http, ctx):
            for raw in page.raws:
                pipeline = mapping.foreign_id(raw.get("pipeline_id"))
                if pipeline is not None:
                    order = int(raw.get("order_nr") or 0)
                    last_order[pipeline] = max(order, last_order.get(pipeline, order))
            yield page
        yield Page(
            raws=[
                {"id": f"{pipeline}:closed", "pipeline_id": pipeline, _CLOSED: order}
                for pipeline, order in sorted(last_order.items())
            ]
        )

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        if _CLOSED in raw:
            return mapping.closed_stages(str(raw["pipeline_id"]), int(raw[_CLOSED]))
        record = mapping.map_stage(raw)
        if record.pipeline_remote_id is not None:
            run_state(ctx).pipeline_of_stage[record.remote_id] = record.pipeline_remote_id
        return [record]


#: Marks the item standing for one pipeline's won and lost stages (never sent by Pipedrive).
_CLOSED = "__crmkpi_closed_after"


class CurrenciesStream(PipedriveStream):
    """Currencies (``/v1/currencies``, one unpaged list, re-read whole every run: a full
    sync's sweep retires the ones that disappeared). They tell which deal currencies are
    known and which are custom; Pipedrive has no FX rates to go with them."""

    name = "currencies"
    produces = (CurrencyRecord,)
    path = settings.V1_CURRENCIES
    paginator = V1_PAGINATOR
    unpaged = True

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_currency(raw)]


def _unmoving(raws: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Items of a deleted / archived list, marked so they move no cursor."""
    return [{**raw, _REMOVED: True} for raw in raws]


#: Marks an item read from a deleted or archived list (never sent by Pipedrive).
_REMOVED = "__crmkpi_removed"


class DealsStream(PipedriveStream):
    """Deals, incremental, in three lists read in this order: deleted deals
    (``status=deleted``: deleted within 30 days), archived deals (``/deals/archived``; not
    in ``/deals`` since 2025-07-15; skipped on accounts without them), then the live ones,
    all with ``include_fields=source_lead_id``. The first two are mapped as deleted
    records (the deal, and the stays of one that never moved) and move no cursor, so a
    run cut short in them reads them again, and one cut short in the live list has read
    them all.

    Deals deleted longer ago than 30 days are found by the full sync's sweep (this stream
    does not set ``finds_deletions``). Remembers lead conversions (for the leads stream);
    the stage stays of live deals are the deal_stage_history stream's."""

    name = "deals"
    produces = (DealRecord, DealStageHistoryRecord)
    incremental = True
    path = settings.V2_DEALS
    extra_params = {"include_fields": settings.DEAL_INCLUDE_FIELDS}

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await field_catalog(http, ctx, "deal")
        state = run_state(ctx)
        state.deals_window, state.deals_read = ctx.since(), True

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        await self.prepare(http, ctx)
        removed = [Request(path=settings.V2_DEALS, params=self._window(ctx, status="deleted"))]
        if ctx.capabilities.available(CAP_ARCHIVED_DEALS):
            removed.append(
                Request(
                    path=settings.V2_ARCHIVED_DEALS,
                    params=self._window(ctx),
                    capability=CAP_ARCHIVED_DEALS,
                )
            )
        for first in removed:
            try:
                async for raws, _ in _pages(http, first, V2_PAGINATOR):
                    yield Page(raws=_unmoving(raws))
            except CapabilityUnavailable:
                continue  # learnt mid-run: the account has no archived deals
        async for raws, last in _pages(http, self.first_request(ctx), V2_PAGINATOR):
            yield Page(raws=raws, final=last)

    @staticmethod
    def _window(ctx: StreamContext, **extra: Any) -> dict[str, Any]:
        return since_params(ctx, include_fields=settings.DEAL_INCLUDE_FIELDS, **extra)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        deal = {k: v for k, v in raw.items() if k != _REMOVED}
        if raw.get(_REMOVED) and not deal.get("is_archived"):
            deal["is_deleted"] = True  # listed by status=deleted
        # The stays of live deals are the stage history's (it lists every deal): a removed
        # one's go here, as deleted, for that stream lists no archived deal.
        removed = bool(raw.get(_REMOVED)) or bool(deal.get("is_deleted"))
        records = mapping.map_deal(deal, catalog_of(ctx, "deal"), with_stays=removed)
        _remember_conversion(ctx, deal)
        return records

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        return None if raw.get(_REMOVED) else super().cursor_of(raw)


class LeadsStream(PipedriveStream):
    """Leads (v1 only lists them): every archived lead first (``/v1/leads/archived`` has
    no ``updated_since``), mapped as deleted, then the live ones by ``updated_since``. A
    deleted lead is in neither list: the full sync's sweep removes it, so this stream
    does not set ``finds_deletions``. Runs after deals to know which leads became deals."""

    name = "leads"
    produces = (LeadRecord,)
    depends_on = ("deals",)
    incremental = True
    path = settings.V1_LEADS
    paginator = V1_PAGINATOR

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await field_catalog(http, ctx, "deal")
        state = run_state(ctx)
        if state.lead_labels is None:
            request = Request(path=settings.V1_LEAD_LABELS, capability=CAP_LEAD_LABELS)
            labels = await read_optional(http, request)  # without: labels stay ids
            state.lead_labels = {str(x["id"]): str(x.get("name")) for x in labels or []}
        since = rfc3339_since(ctx)
        if since is not None or not (state.deals_read and state.deals_window is None):
            # A lead read in this window may have been converted by a deal outside the
            # deals window: deals updated since the lead window began include every deal
            # converted from such a lead (a deal is created after its lead's last update).
            # A lead read whole (first run, or after a crash) needs every deal unless the
            # deals stream read them all in this run.
            first = Request(
                path=settings.V2_DEALS,
                params=since_params(ctx, include_fields=settings.DEAL_INCLUDE_FIELDS),
            )
            async for deals, _ in _pages(http, first, V2_PAGINATOR):
                for deal in deals:
                    _remember_conversion(ctx, deal)

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        await self.prepare(http, ctx)
        listed: set[str] = set()
        archived = Request(path=settings.V1_ARCHIVED_LEADS, params={"limit": settings.PAGE_SIZE})
        async for raws, _ in _pages(http, archived, V1_PAGINATOR):
            listed.update(str(raw.get("id")) for raw in raws)
            yield Page(raws=_unmoving(raws))
        async for raws, last in _pages(http, self.first_request(ctx), V1_PAGINATOR):
            listed.update(str(raw.get("id")) for raw in raws)
            yield Page(raws=raws, final=last)
        async for page in converted_leads(http, ctx, listed):
            yield page

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        state = run_state(ctx)
        lead = {k: v for k, v in raw.items() if k not in (_REMOVED, BY_ID)}
        if raw.get(_REMOVED):
            lead["is_archived"] = True  # listed by /leads/archived
        return [
            mapping.map_lead(
                lead,
                catalog_of(ctx, "deal"),
                state.lead_labels or {},
                state.conversions,
                ctx.mappings.lifecycle_kind,
            )
        ]

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        return None if raw.get(_REMOVED) or raw.get(BY_ID) else super().cursor_of(raw)


class ActivitiesStream(PipedriveStream):
    """Activities, incremental; deleted ones vanish from the list (``is_deleted`` items
    are mapped as deleted should the list return any): the full sync's sweep removes
    them. Activity types (for custom types' icons, and names that say how a meeting
    went) are optional."""

    name = "activities"
    produces = (ActivityRecord,)
    incremental = True
    path = settings.V2_ACTIVITIES

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        state = run_state(ctx)
        if state.activity_icons is None:
            types = None
            if ctx.capabilities.available(CAP_ACTIVITY_TYPES):
                request = Request(path=settings.V1_ACTIVITY_TYPES, capability=CAP_ACTIVITY_TYPES)
                types = await read_optional(http, request)
            state.activity_icons = {
                str(t.get("key_string")): str(t.get("icon_key")) for t in types or []
            }
            state.activity_names = {
                str(t.get("key_string")): str(t.get("name") or "") for t in types or []
            }

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        state = run_state(ctx)
        return [mapping.map_activity(raw, state.activity_icons or {}, state.activity_names)]


class NotesStream(PipedriveStream):
    """Notes (v1 only): activities of type NOTE, ids prefixed ``note:``. Deleted notes
    vanish from the list (``active_flag: false`` ones are mapped as deleted): the full
    sync's sweep removes them. Skipped on accounts whose token may not read notes."""

    name = "notes"
    produces = (ActivityRecord,)
    incremental = True
    requires = (CAP_NOTES,)
    capability = CAP_NOTES
    path = settings.V1_NOTES
    paginator = V1_PAGINATOR

    def remote_id_of(self, raw: Mapping[str, Any]) -> str | None:
        return None if raw.get("id") is None else mapping.note_id(raw["id"])

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_note(raw)]

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        cursor = super().cursor_of(raw)
        return None if cursor is None else Cursor(cursor.updated_at, mapping.note_id(raw["id"]))


async def _pages(
    http: HttpClient, first: Request, paginator: Any
) -> AsyncIterator[tuple[list[Mapping[str, Any]], bool]]:
    """Each page's items of one list, and whether it is the last page."""
    request: Request | None = first
    while request is not None:
        page = await http.send(request)
        request = paginator.next_request(page, request)
        yield page_data(page), request is None


def _remember_conversion(ctx: StreamContext, deal: Mapping[str, Any]) -> None:
    """Lead id -> (deal id, deal add time, deal organization), for the leads stream.

    ``source_lead_id`` is asked for with ``include_fields``; a deal answered without the
    key at all (an API that ignores the request) is counted: conversions are then
    unknown, not absent (see the ``lead_conversions`` capability)."""
    state = run_state(ctx)
    if "source_lead_id" not in deal:
        state.deals_without_lead_field += 1
        return
    if not deal.get("source_lead_id") or deal.get("id") is None:
        return
    state.conversions[str(deal["source_lead_id"])] = (
        str(deal["id"]),
        mapping.parse_time(deal.get("add_time"), "deal.add_time"),
        mapping.foreign_id(deal.get("org_id")),
    )


def all_streams() -> list[Stream]:
    """Every stream, in dependency order."""
    return [
        DealStageHistoryStream(),  # first: its flow reads are most of a first load
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
    ]
