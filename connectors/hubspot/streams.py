"""HubSpot streams, declared by class attributes; the engine drives them (core.sync.connector).

CRM objects (companies, contacts, leads, deals, engagements) share one base:

- a full read pages through ``GET /crm/v3/objects/{type}`` with ``properties`` and
  ``associations`` (100 a page, ``paging.next.after``);
- an incremental read searches ``POST /crm/v3/objects/{type}/search`` on the last-modified
  property from the cursor minus the look-back, sorted ascending (see :mod:`._search` for
  how the 10,000-result cap and equal timestamps are handled). Search results carry no
  associations, so each search page is followed by one v4 association batch read per
  associated type, and the page's records are handed to the engine with the last of them;
- deletions are the archived records, ``GET /crm/v3/objects/{type}?archived=true``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from connectors.hubspot import _search, mapping, settings
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
    names = list((ctx.mappings.get("custom_dimensions") or {}).keys())
    names += [str(p) for p in (ctx.mappings.get("deal_attributes") or {}).values()]
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
        #: Search results waiting for their associations, by id.
        self._pending: dict[str, dict[str, Any]] = {}
        self._association_index = 0
        #: The search request that follows a chain of association reads.
        self._resume: dict[tuple[str, ...], Request | None] = {}

    def properties(self, ctx: StreamContext) -> list[str]:
        return [*self.object_type.properties, *extra_properties(ctx)]

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
            if self.object_type.associations:
                params["associations"] = ",".join(self.object_type.associations)
            params["archived"] = "false"
        return Request("GET", f"{settings.OBJECTS_PATH}/{self.object_type.name}", params=params)

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        if _search.is_search(request):
            nxt = _search.next_request(page, request)
            ids = tuple(str(r["id"]) for r in _results(page))
            if not ids or not self.object_type.associations:
                return nxt
            self._resume[ids] = nxt
            return self._association_request(0, ids)
        if _is_association(request):
            ids = tuple(str(item["id"]) for item in request.json["inputs"])
            index = self.object_type.associations.index(request.path.split("/")[-3]) + 1
            if index < len(self.object_type.associations):
                return self._association_request(index, ids)
            return self._resume.pop(ids, None)
        return super().next_request(page, request, ctx)

    def _association_request(self, index: int, ids: tuple[str, ...]) -> Request:
        to_type = self.object_type.associations[index]
        path = f"{settings.ASSOCIATIONS_V4_PATH}/{self.object_type.name}/{to_type}/batch/read"
        return Request("POST", path, json={"inputs": [{"id": i} for i in ids]})

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        results = _results(page)
        if not isinstance(page, Mapping):
            return results
        if "total" in page:  # a search page
            if not self.object_type.associations or not results:
                return results
            self._pending = {str(r["id"]): {**r, "associations": {}} for r in results}
            self._association_index = 0
            return []
        if (results and "from" in results[0]) or (not results and self._pending):
            return self._merge_associations(results)
        return results

    def _merge_associations(self, results: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        to_type = self.object_type.associations[self._association_index]
        for item in results:
            target = self._pending.get(str((item.get("from") or {}).get("id")))
            if target is not None:
                converted = _v3_associations(item, self.object_type.name, to_type)
                target["associations"][to_type] = {"results": converted}
        self._association_index += 1
        if self._association_index < len(self.object_type.associations):
            return []
        merged, self._pending = list(self._pending.values()), {}
        return merged

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        value = (raw.get("properties") or {}).get(self.object_type.modified_property)
        if not value:
            return None
        at = parse_datetime(str(value), self.object_type.modified_property)
        return Cursor(at, str(raw["id"]))

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        return self._list_request(ctx, archived=True)

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        return [(self.record_class, str(r["id"])) for r in _results(page) if r.get("id")]


def _is_association(request: Request) -> bool:
    return request.path.startswith(settings.ASSOCIATIONS_V4_PATH)


def _v3_associations(item: Mapping[str, Any], from_type: str, to_type: str) -> list[dict[str, str]]:
    """A v4 batch association result in the v3 list shape.

    v3 names each association type: ``deal_to_company`` for the primary (or the only,
    unlabeled) one, ``deal_to_company_unlabeled`` next to a primary, and the label for
    custom labels; an id appears once per type, as v3 lists do.
    """
    base = f"{settings.SINGULAR[from_type]}_to_{settings.SINGULAR[to_type]}"
    converted = []
    for target in item.get("to") or ():
        types = list(target.get("associationTypes") or ())
        labels = [t.get("label") for t in types]
        has_primary = "Primary" in labels
        for label in labels or [None]:
            if label == "Primary" or (label is None and not has_primary):
                name = base
            elif label is None:
                name = f"{base}_unlabeled"
            else:
                name = f"{base}_{str(label).lower().replace(' ', '_')}"
            converted.append({"id": str(target["toObjectId"]), "type": name})
    return converted


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
        kinds = ctx.mappings.get("lifecycle") or {}
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
    """Deals with their stage history, read from the per-stage entry date properties."""

    name = "deals"
    object_type = settings.DEALS
    record_class = DealRecord
    produces = (DealRecord, DealStageHistoryRecord)
    depends_on = ("pipelines",)

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        if STAGES_KEY not in ctx.shared:
            page = await http.send(PipelinesStream().first_request(ctx))
            ctx.shared[STAGES_KEY] = mapping.stage_infos(_results(page))

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
