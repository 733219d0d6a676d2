"""HubSpot streams; the engine drives them through ``Stream.read`` (core.sync.connector).

Owners, pipelines and exchange rates are declarative (the default ``read``). Leads and
exchange rates need a capability (``requires``): SKIPPED on portals without it.

CRM objects (companies, contacts, leads, deals, engagements) share one base:

- a full read pages through ``GET /crm/v3/objects/{type}`` with ``properties`` and
  ``associations`` (100 a page, ``paging.next.after``; deals 50 a page, with
  ``propertiesWithHistory=dealstage``);
- an incremental read searches ``POST /crm/v3/objects/{type}/search`` on the last-modified
  property from the cursor minus the look-back, sorted ascending (see :mod:`._search` for
  how the 10,000-result cap and equal timestamps are handled). Search results carry no
  associations nor history, so each search page is completed by v4 association batch
  reads and, for deals, history batch reads (:mod:`._follow`) before it is yielded
  (``ObjectStream.read`` is a plain loop);
- deletions are the archived records, ``GET /crm/v3/objects/{type}?archived=true``, and
  the ids merged into records read by the run (``hs_merged_object_ids``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from connectors.hubspot import _capabilities, _cursor, _follow, _search, mapping, settings
from connectors.hubspot._state import state_of
from connectors.hubspot.values import parse_datetime
from core.sync import (
    CapabilityStatus,
    Cursor,
    HttpClient,
    Page,
    Request,
    Stream,
    StreamContext,
)
from core.sync.declarative import prefetched
from core.sync.pagination import CursorPaginator
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    AnyRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    LeadRecord,
    PipelineRecord,
    Record,
    StageRecord,
    TeamRecord,
    UserRecord,
)

_AFTER = CursorPaginator(("paging", "next", "after"), "after")


def extra_properties(ctx: StreamContext) -> list[str]:
    """Custom properties the connection maps to dimensions or deal attributes."""
    names = list(ctx.mappings.custom_dimensions.keys())
    names += [str(p) for p in ctx.mappings.deal_attributes.values()]
    return sorted(set(names))


def _results(page: Any) -> list[Mapping[str, Any]]:
    results = page.get("results") if isinstance(page, Mapping) else None
    return list(results) if isinstance(results, list) else []


class OwnersStream(Stream):
    """Owners, then archived owners (kept as inactive users: old deals still point at them)."""

    name = "owners"
    produces = (UserRecord, TeamRecord)
    paginator = _AFTER

    def first_request(self, ctx: StreamContext) -> Request:
        return Request("GET", settings.OWNERS_PATH, params={"limit": 100, "archived": "false"})

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        nxt = super().next_request(page, request, ctx)
        if nxt is None and (request.params or {}).get("archived") == "false":
            return Request("GET", settings.OWNERS_PATH, params={"limit": 100, "archived": "true"})
        return nxt

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return _results(page)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return mapping.map_owner(raw)


class PipelinesStream(Stream):
    """Deal pipelines with their stages (one unpaged response)."""

    name = "pipelines"
    produces = (PipelineRecord, StageRecord)

    def first_request(self, ctx: StreamContext) -> Request:
        return Request("GET", settings.DEAL_PIPELINES_PATH)

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return _results(page)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return mapping.map_pipeline(raw)


class ExchangeRatesStream(Stream):
    """The portal's exchange rates to its company currency (multicurrency settings);
    SKIPPED on single-currency portals (nothing to convert)."""

    name = "exchange_rates"
    produces = ()
    requires = (_capabilities.MULTI_CURRENCY,)
    paginator = _AFTER

    def first_request(self, ctx: StreamContext) -> Request:
        return Request("GET", settings.EXCHANGE_RATES_PATH, params={"limit": 100})

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return _results(page)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_exchange_rate(raw)]


class ObjectStream(Stream):
    """A CRM object read in full, or incrementally through search, with its deletions.

    ``read`` is a plain loop: each page (list or search) is completed by its follow-up
    reads (:mod:`._follow`) and yielded; then the archived records and the ids merged away
    into records this run read are yielded as deletions.
    """

    object_type: ClassVar[settings.ObjectType]
    record_class: ClassVar[type[Record]]
    incremental = True
    finds_deletions = True
    paginator = _AFTER

    def properties(self, ctx: StreamContext) -> list[str]:
        return [*self.object_type.properties, *extra_properties(ctx)]

    def custom(self, ctx: StreamContext) -> list[str]:
        """``extra_properties(ctx)``, worked out once per run rather than per record."""
        cached = self._custom
        if cached is None or cached[0] is not ctx.mappings:
            cached = self._custom = (ctx.mappings, extra_properties(ctx))
        return cached[1]

    _custom: tuple[Any, list[str]] | None = None

    def associations(self, ctx: StreamContext) -> tuple[str, ...]:
        """The associated types to read: never leads on a portal without a readable Leads
        object (its v4 association reads answer 400 there)."""
        leads = ctx.capabilities.available(_capabilities.LEADS) and state_of(ctx).leads
        return tuple(t for t in self.object_type.associations if t != "leads" or leads)

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        """Learn whether leads can be read when no discovery told (older connections)."""
        state = state_of(ctx)
        if state.leads is None:
            known = ctx.capabilities.get(_capabilities.LEADS)
            if known is not None and known.status is not CapabilityStatus.UNKNOWN:
                state.leads = known.available
            elif "leads" in self.object_type.associations:
                state.leads = await _capabilities.leads_available(http)

    def with_history(self) -> bool:
        """True when reads ask for ``propertiesWithHistory`` (deal stage visits)."""
        return False

    def first_request(self, ctx: StreamContext) -> Request:
        since = ctx.since()
        if since is None:
            return self._list_request(ctx, archived=False)
        return _search.first_request(self.object_type, self.properties(ctx), since, ctx.now)

    def _list_request(self, ctx: StreamContext, *, archived: bool) -> Request:
        params: dict[str, Any] = {"limit": settings.LIST_PAGE_SIZE}
        if archived:
            params["properties"] = self.object_type.modified_property
            params["archived"] = "true"
        else:
            params["properties"] = ",".join(self.properties(ctx))
            associations = self.associations(ctx)
            if associations:
                params["associations"] = ",".join(associations)
            if self.with_history():
                params["propertiesWithHistory"] = _follow.HISTORY_PROPERTY
                params["limit"] = settings.HISTORY_PAGE_SIZE
            params["archived"] = "false"
        return Request(
            "GET",
            f"{settings.OBJECTS_PATH}/{self.object_type.name}",
            params=params,
            capability=self.capability,
        )

    #: The capability a read of this object needs (leads), None for core objects.
    capability: ClassVar[str | None] = None

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        if _search.is_search(request):
            return _search.next_request(page, request)
        return _AFTER.next_request(page, request)

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        await self.prepare(http, ctx)
        associations = self.associations(ctx)
        merged: set[str] = set()
        pages = prefetched(
            http,
            self.first_request(ctx),
            lambda page, request: self.next_request(page, request, ctx),
        )
        async for page, is_last in pages:
            results = _results(page)
            if isinstance(page, Mapping) and "total" in page:  # a search page
                records = await _follow.complete_search_page(
                    http, self.object_type, results, associations, self.with_history()
                )
            else:
                records = await _follow.complete_list_page(http, self.object_type, results)
            merged.update(merged_ids(records))
            yield Page(raws=records, final=is_last)
        archived = prefetched(
            http,
            self._list_request(ctx, archived=True),
            lambda page, request: _AFTER.next_request(page, request),
        )
        async for page, _ in archived:
            deleted = [(self.record_class, str(r["id"])) for r in _results(page) if r.get("id")]
            if deleted:
                yield Page(deleted=deleted)
        if merged:
            yield Page(deleted=[(self.record_class, i) for i in sorted(merged)])

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return _results(page)

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        value = (raw.get("properties") or {}).get(self.object_type.modified_property)
        if not value:
            return None
        at = parse_datetime(str(value), self.object_type.modified_property)
        return Cursor(at, str(raw["id"]))

    def highest_cursor(self, raws: Sequence[Mapping[str, Any]]) -> Cursor | None:
        """The page's highest ``cursor_of`` (core.sync.pagecursor.FindsHighestCursor),
        read from the dates' text (:mod:`._cursor`)."""
        return _cursor.highest_cursor(self, raws, self.object_type.modified_property)


def merged_ids(records: Iterable[Mapping[str, Any]]) -> set[str]:
    """Ids merged into ``records``: HubSpot keeps one record of a merge and lists the
    others in ``hs_merged_object_ids`` (``;``-separated); they must not count twice."""
    ids: set[str] = set()
    for raw in records:
        merged = (raw.get("properties") or {}).get(settings.MERGED_PROPERTY)
        if merged:
            ids.update(i.strip() for i in str(merged).split(";") if i.strip())
    return ids


class CompaniesStream(ObjectStream):
    name = "companies"
    object_type = settings.COMPANIES
    record_class = AccountRecord
    produces = (AccountRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_company(raw, self.custom(ctx))]


class ContactsStream(ObjectStream):
    name = "contacts"
    object_type = settings.CONTACTS
    record_class = ContactRecord
    produces = (ContactRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        kinds = ctx.mappings.lifecycle
        return [mapping.map_contact(raw, self.custom(ctx), kinds)]


class LeadsStream(ObjectStream):
    """The Leads object, on portals that have it (Sales Hub Pro and up) and apps with its
    scope. SKIPPED while ``leads_object`` is unavailable; on a connection never
    discovered, the first read's 400/403/404 tells the engine so (``capability``)."""

    name = "leads"
    object_type = settings.LEADS
    record_class = LeadRecord
    produces = (LeadRecord,)
    requires = (_capabilities.LEADS,)
    capability = _capabilities.LEADS

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_lead(raw, self.custom(ctx))]


class DealsStream(ObjectStream):
    """Deals with their stage history: every visit of every stage, from the history of
    ``dealstage`` (the per-stage entry/exit dates are read too, for portals or records
    without history)."""

    name = "deals"
    object_type = settings.DEALS
    record_class = DealRecord
    produces = (DealRecord, DealStageHistoryRecord)
    depends_on = ("pipelines",)

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        state = state_of(ctx)
        if state.stages is None:
            page = await http.send(PipelinesStream().first_request(ctx))
            state.stages = mapping.stage_infos(_results(page))
        if state.company_currency is None:
            state.company_currency = await _capabilities.company_currency(http)
        await super().prepare(http, ctx)

    def with_history(self) -> bool:
        return True

    def properties(self, ctx: StreamContext) -> list[str]:
        stages = sorted(state_of(ctx).stages or {})
        per_stage = [
            f"{prefix}{stage}"
            for stage in stages
            for prefix in (settings.DATE_ENTERED_PREFIXES[0], settings.DATE_EXITED_PREFIXES[0])
        ]
        return [*super().properties(ctx), *per_stage]

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        state = state_of(ctx)
        return mapping.map_deal(
            raw, state.stages or {}, self.custom(ctx), company_currency=state.company_currency
        )


class EngagementStream(ObjectStream):
    record_class = ActivityRecord
    produces = (ActivityRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_engagement(self.object_type.name, raw, self.custom(ctx))]


class CallsStream(EngagementStream):
    name = "calls"
    object_type = settings.CALLS


class EmailsStream(EngagementStream):
    name = "emails"
    object_type = settings.EMAILS


class MeetingsStream(EngagementStream):
    name = "meetings"
    object_type = settings.MEETINGS


class NotesStream(EngagementStream):
    name = "notes"
    object_type = settings.NOTES


class TasksStream(EngagementStream):
    name = "tasks"
    object_type = settings.TASKS


def all_streams() -> list[Stream]:
    """Fresh stream instances in dependency order (search state lives on the instance)."""
    classes: list[type[Stream]] = [
        OwnersStream,
        PipelinesStream,
        CompaniesStream,
        ContactsStream,
        LeadsStream,
        DealsStream,
        CallsStream,
        EmailsStream,
        MeetingsStream,
        NotesStream,
        TasksStream,
        ExchangeRatesStream,
    ]
    return [cls() for cls in classes]
