"""HubSpot streams, declared by class attributes; the engine drives them (core.sync.connector).

CRM objects (companies, contacts, leads, deals, engagements) share one base:

- a full read pages through ``GET /crm/v3/objects/{type}`` with ``properties`` and
  ``associations`` (100 a page, ``paging.next.after``; deals 50 a page, with
  ``propertiesWithHistory=dealstage``);
- an incremental read searches ``POST /crm/v3/objects/{type}/search`` on the last-modified
  property from the cursor minus the look-back, sorted ascending (see :mod:`._search` for
  how the 10,000-result cap and equal timestamps are handled). Search results carry no
  associations nor history, so each search page is followed by v4 association batch
  reads and, for deals, history batch reads (:mod:`._chain`), and the page's records are
  handed to the engine with the last of them;
- deletions are the archived records, ``GET /crm/v3/objects/{type}?archived=true``, and
  the ids merged into records read by the run (``hs_merged_object_ids``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from connectors.hubspot import _chain, _search, mapping, settings
from connectors.hubspot._values import parse_datetime
from core.sync.connector import Cursor, HttpClient, Request, Stream, StreamContext
from core.sync.errors import RequestFailed
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
#: ctx.shared key of the deal stages (stage id -> mapping.StageInfo).
STAGES_KEY = "hubspot.stages"


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
    """The portal's exchange rates to its company currency (multicurrency settings)."""

    name = "exchange_rates"
    produces = ()
    paginator = _AFTER

    def first_request(self, ctx: StreamContext) -> Request:
        return Request("GET", settings.EXCHANGE_RATES_PATH, params={"limit": 100})

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return _results(page)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_exchange_rate(raw)]


class ObjectStream(Stream):
    """A CRM object read in full, or incrementally through search, with its deletions."""

    object_type: ClassVar[settings.ObjectType]
    record_class: ClassVar[type[Record]]
    incremental = True
    finds_deletions = True
    paginator = _AFTER

    def __init__(self) -> None:
        #: The page being completed by follow-up reads (see :mod:`._chain`).
        self._chain: _chain.Chain | None = None
        #: What each page gives, by id(page), until extract / next_request take it: the
        #: engine asks for the next request before extracting a page (it prefetches), a
        #: plain loop does it the other way round; whichever comes first works the page out.
        self._records: dict[int, list[Mapping[str, Any]]] = {}
        self._next: dict[int, Request | None] = {}
        self._handed: Request | None = None
        #: Ids merged away into records read by this run, to be deleted with the archived.
        self._merged: set[str] = set()

    def properties(self, ctx: StreamContext) -> list[str]:
        return [*self.object_type.properties, *extra_properties(ctx)]

    def with_history(self) -> bool:
        """True when reads ask for ``propertiesWithHistory`` (deal stage visits)."""
        return False

    def first_request(self, ctx: StreamContext) -> Request:
        since = ctx.since()
        if since is None:
            self._handed = self._list_request(ctx, archived=False)
        else:
            properties = self.properties(ctx)
            self._handed = _search.first_request(self.object_type, properties, since, ctx.now)
        return self._handed

    def _list_request(self, ctx: StreamContext, *, archived: bool) -> Request:
        params: dict[str, Any] = {"limit": settings.LIST_PAGE_SIZE}
        if archived:
            params["properties"] = self.object_type.modified_property
            params["archived"] = "true"
        else:
            params["properties"] = ",".join(self.properties(ctx))
            if self.object_type.associations:
                params["associations"] = ",".join(self.object_type.associations)
            if self.with_history():
                params["propertiesWithHistory"] = _chain.HISTORY_PROPERTY
                params["limit"] = settings.HISTORY_PAGE_SIZE
            params["archived"] = "false"
        return Request("GET", f"{settings.OBJECTS_PATH}/{self.object_type.name}", params=params)

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        key = id(page)
        if key not in self._next:
            self._work_out(page, request)
        self._handed = self._next.pop(key)
        return self._handed

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        key = id(page)
        if key not in self._records and self._handed is not None:
            self._work_out(page, self._handed)
        return self._records.pop(key, [])

    def _work_out(self, page: Any, request: Request) -> None:
        """The records ``page`` completes and the request after it."""
        key, chain = id(page), self._chain
        if chain is not None and request is chain.outstanding:
            chain.absorb(page)
            nxt = chain.next()
            if nxt is None:
                self._chain = None
                self._records[key] = self._seen(chain.pending.values())
                self._next[key] = chain.resume
            else:
                self._records[key], self._next[key] = [], nxt
            return
        results = _results(page)
        following = self._next_page(page, request)
        if not isinstance(page, Mapping) or not results:
            chain = None
        elif "total" in page:  # a search page
            chain = _chain.for_search_page(self.object_type, results, self.with_history())
        else:
            chain = _chain.for_list_page(self.object_type, results)
        if chain is None:
            self._records[key], self._next[key] = self._seen(results), following
            return
        chain.resume, self._chain = following, chain
        self._records[key], self._next[key] = [], chain.next()

    def _seen(self, records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """``records``, noting the ids merged into them (HubSpot keeps one record of a
        merge and lists the others in ``hs_merged_object_ids``: they must not count twice)."""
        out = list(records)
        for raw in out:
            merged = (raw.get("properties") or {}).get(settings.MERGED_PROPERTY)
            if merged:
                self._merged.update(i.strip() for i in str(merged).split(";") if i.strip())
        return out

    def _next_page(self, page: Any, request: Request) -> Request | None:
        if _search.is_search(request):
            return _search.next_request(page, request)
        return _AFTER.next_request(page, request)

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        value = (raw.get("properties") or {}).get(self.object_type.modified_property)
        if not value:
            return None
        at = parse_datetime(str(value), self.object_type.modified_property)
        return Cursor(at, str(raw["id"]))

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        return self._list_request(ctx, archived=True)

    def next_deletions_request(
        self, page: Any, request: Request, ctx: StreamContext
    ) -> Request | None:
        return _AFTER.next_request(page, request)

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        """Archived records, and (with the first page) the records merged away this run."""
        deleted = [(self.record_class, str(r["id"])) for r in _results(page) if r.get("id")]
        deleted += [(self.record_class, i) for i in sorted(self._merged)]
        self._merged.clear()
        return deleted


class CompaniesStream(ObjectStream):
    name = "companies"
    object_type = settings.COMPANIES
    record_class = AccountRecord
    produces = (AccountRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_company(raw, extra_properties(ctx))]


class ContactsStream(ObjectStream):
    name = "contacts"
    object_type = settings.CONTACTS
    record_class = ContactRecord
    produces = (ContactRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        kinds = ctx.mappings.lifecycle
        return [mapping.map_contact(raw, extra_properties(ctx), kinds)]


class LeadsStream(ObjectStream):
    """The Leads object, on portals that have it (Sales Hub Pro and up).

    ``prepare`` asks for one lead; a 400/403/404 there means the portal has no Leads object
    (or the app lacks its scope), and the stream then reads nothing instead of failing.
    """

    name = "leads"
    object_type = settings.LEADS
    record_class = LeadRecord
    produces = (LeadRecord,)

    def __init__(self) -> None:
        super().__init__()
        self.available = True

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        probe = Request("GET", f"{settings.OBJECTS_PATH}/leads", params={"limit": 1})
        try:
            await http.send(probe)
        except RequestFailed as exc:
            if exc.status not in (400, 403, 404):
                raise
            self.available = False

    def first_request(self, ctx: StreamContext) -> Request:
        # None (no read) is what the engine expects when there is nothing to read.
        return super().first_request(ctx) if self.available else None  # type: ignore[return-value]

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        return super().deletions_request(ctx) if self.available else None

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_lead(raw, extra_properties(ctx))]


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
        if STAGES_KEY not in ctx.shared:
            page = await http.send(PipelinesStream().first_request(ctx))
            ctx.shared[STAGES_KEY] = mapping.stage_infos(_results(page))

    def with_history(self) -> bool:
        return True

    def properties(self, ctx: StreamContext) -> list[str]:
        stages = sorted(ctx.shared.get(STAGES_KEY) or {})
        per_stage = [
            f"{prefix}{stage}"
            for stage in stages
            for prefix in (settings.DATE_ENTERED_PREFIXES[0], settings.DATE_EXITED_PREFIXES[0])
        ]
        return [*super().properties(ctx), *per_stage]

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        stages = ctx.shared.get(STAGES_KEY) or {}
        return mapping.map_deal(raw, stages, extra_properties(ctx))


class EngagementStream(ObjectStream):
    record_class = ActivityRecord
    produces = (ActivityRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_engagement(self.object_type.name, raw, extra_properties(ctx))]


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
