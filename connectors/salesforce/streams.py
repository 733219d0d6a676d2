"""Declarative Salesforce streams: one SOQL object each, read with ``query``/``nextRecordsUrl``.

Every stream first reads the object's ``describe`` (each run, so new custom fields appear
without a restart) and selects the wanted standard fields the org has plus every custom
field. Incremental reads filter ``SystemModstamp >= cursor - look-back``; deletions come from
``getDeleted`` or ``queryAll`` on ``IsDeleted = true`` (connectors.salesforce.deletions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from connectors.salesforce import bulk, bulk_read, deletions, mapping, settings, soql, values
from connectors.salesforce.bulk_read import ChildQuery
from connectors.salesforce.metadata import (
    PROCESSES_KEY,
    SalesProcesses,
    describe,
    describe_key,
    sales_processes,
    stage_id,
)
from connectors.salesforce.paths import ApiPaths
from core.models.enums import SyncMode
from core.sync.connector import (
    Cursor,
    HttpClient,
    MappingError,
    Request,
    Stream,
    StreamContext,
    TextBody,
)
from core.sync.pagination import NextUrlPaginator
from core.sync.records import (
    AnyRecord,
    DealRecord,
    DealStageHistoryRecord,
    LeadRecord,
    PipelineRecord,
    Record,
    StageRecord,
)

_MAPPINGS_KEY = "salesforce:field_mappings"


def lifecycle_classifier(ctx: StreamContext) -> mapping.Classifier:
    """Lead status -> lead | mql | sql | customer, from the connection's field mappings
    (their ``lifecycle`` part, over the engine's defaults); parsed once per run."""
    found = ctx.shared.get(_MAPPINGS_KEY)
    if found is None:
        found = ctx.shared[_MAPPINGS_KEY] = ctx.mappings
    classify: mapping.Classifier = found.lifecycle_kind
    return classify


def selectable_fields(wanted: Sequence[str], described: Any) -> list[str]:
    """Wanted fields the org has, then its custom fields (compound ones cannot be selected)."""
    fields = described.get("fields", []) if isinstance(described, Mapping) else []
    present = {f["name"] for f in fields if isinstance(f, Mapping) and "name" in f}
    chosen = [name for name in wanted if name in present]
    chosen += [
        f["name"]
        for f in fields
        if f.get("custom") and f.get("type") not in settings.COMPOUND_TYPES
        if f["name"] not in chosen
    ]
    return chosen


class SalesforceStream(Stream):
    """An object read by SOQL; subclasses name the object and the mapping."""

    sobject: ClassVar[str]
    incremental = True
    #: Pages come in (SystemModstamp, Id) order: the engine may commit the cursor per page.
    cursor_ordered = True
    finds_deletions = True
    paginator = NextUrlPaginator(("nextRecordsUrl",))
    #: Read with ``queryAll`` (archived activities are hidden from ``query``).
    query_all: ClassVar[bool] = False
    #: The record class soft-deleted for rows listed by the deletions query.
    deleted_type: ClassVar[type[Record] | None] = None
    #: Child relationship -> subquery, read with each row where the org's describe has it.
    children: ClassVar[dict[str, str]] = {}
    #: The same children as objects of their own, for Bulk API reads (which cannot nest).
    bulk_children: ClassVar[tuple[ChildQuery, ...]] = ()

    def __init__(self, api: ApiPaths | None = None) -> None:
        self.api = api or ApiPaths()
        #: The Bulk API 2.0 job this run reads instead of REST pages (see ``choose_bulk``).
        self.bulk: bulk_read.BulkRead | None = None

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await describe(http, self.api, ctx, self.sobject)
        await self.choose_bulk(http, ctx)

    async def choose_bulk(self, http: HttpClient, ctx: StreamContext) -> None:
        """Continue an earlier run's Bulk API job, or on a full read above the threshold
        start one for the same query (connectors.salesforce.bulk_read). A job that fails
        or never completes falls back to REST pages."""
        if self.bulk is not None:
            self.bulk.close()
        self.bulk = None
        resume = _resume(ctx)
        if not self.incremental or (resume is None and ctx.since() is not None):
            return
        described = ctx.shared.get(describe_key(self.sobject))
        present = {r.get("relationshipName") for r in _relationships(described)}
        plan = bulk_read.Plan(
            self.sobject,
            self.fields(ctx),
            self.where(ctx),
            self.query_all,
            bulk.field_types(described),
            [c for c in self.bulk_children if c.relationship in present],
        )
        start = ctx.start_cursor
        self.bulk = await bulk_read.open_read(
            http,
            self.api,
            plan,
            resume=resume,
            start=None if start is None else Cursor(start.updated_at, start.remote_id),
        )

    def since(self, ctx: StreamContext) -> datetime | None:
        """The incremental lower bound; none while an unfinished bulk read is resumed (its
        saved stamp is the greatest read so far, not a position in an ordered read)."""
        return None if _resume(ctx) is not None else ctx.since()

    def fields(self, ctx: StreamContext) -> list[str]:
        described = ctx.shared.get(describe_key(self.sobject))
        if described is None:
            return list(settings.FIELDS[self.sobject])
        return selectable_fields(settings.FIELDS[self.sobject], described)

    def where(self, ctx: StreamContext) -> list[str]:
        clauses = ["IsDeleted = false"] if self.query_all else []
        since = self.since(ctx) if self.incremental else None
        clauses += soql.since_clause(since)
        if since is not None and ctx.now is not None:
            clauses.append(f"SystemModstamp <= {soql.literal(ctx.now)}")
        return clauses

    def subqueries(self, ctx: StreamContext) -> list[str]:
        """The child subqueries whose relationship the org has (all, before describe)."""
        described = ctx.shared.get(describe_key(self.sobject))
        if described is None:
            return list(self.children.values())
        present = {r.get("relationshipName") for r in _relationships(described)}
        return [text for name, text in self.children.items() if name in present]

    def query(self, ctx: StreamContext) -> str:
        order = ("SystemModstamp", "Id") if self.incremental else ("Id",)
        return soql.select(
            self.sobject,
            self.fields(ctx),
            where=self.where(ctx),
            order_by=order,
            children=self.subqueries(ctx),
        )

    def first_request(self, ctx: StreamContext) -> Request:
        if self.bulk is not None:
            return self.bulk.first_request()
        resource = "/queryAll" if self.query_all else "/query"
        return Request(path=self.api.data(resource), params={"q": self.query(ctx)})

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        if isinstance(page, TextBody):
            return None if self.bulk is None else self.bulk.next_request(page.headers)
        return super().next_request(page, request, ctx)

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        if isinstance(page, TextBody) and self.bulk is not None:
            return self.bulk.extract(page.text, page.headers, self._cursor)
        records = page.get("records") if isinstance(page, Mapping) else None
        return records if isinstance(records, list) else []

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        if self.bulk is not None:
            return self.bulk.cursor()
        return self._cursor(raw)

    def _cursor(self, raw: Mapping[str, Any]) -> Cursor | None:
        try:
            stamp = values.parse_datetime(raw.get("SystemModstamp"), "SystemModstamp")
        except MappingError:
            return None
        return None if stamp is None else Cursor(stamp, str(raw.get("Id") or ""))

    def remote_id_of(self, raw: Mapping[str, Any]) -> str | None:
        value = raw.get("Id") if isinstance(raw, Mapping) else None
        return None if value is None else str(value)

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        if not self.finds_deletions or self.deleted_type is None:
            return None
        return deletions.first_request(self.api, self.sobject, self.since(ctx), ctx.now)

    def next_deletions_request(
        self, page: Any, request: Request, ctx: StreamContext
    ) -> Request | None:
        since = self.since(ctx)
        if deletions.is_log_page(page):
            return (
                None if since is None else deletions.after_log(self.api, self.sobject, page, since)
            )
        return super().next_deletions_request(page, request, ctx)

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        assert self.deleted_type is not None
        return [(self.deleted_type, remote_id) for remote_id in deletions.deleted_ids(page)]


def _resume(ctx: StreamContext) -> Mapping[str, str] | None:
    """Where an earlier run stopped inside a bulk read (incremental runs only)."""
    start = ctx.start_cursor
    if ctx.mode is SyncMode.FULL or start is None:
        return None
    return start.resume or None


def _relationships(described: Any) -> list[Mapping[str, Any]]:
    found = described.get("childRelationships", []) if isinstance(described, Mapping) else []
    return [r for r in found if isinstance(r, Mapping)]


class PipelinesStream(SalesforceStream):
    """The default pipeline, then one per sales process (connectors.salesforce.metadata)."""

    name = "pipelines"
    sobject = "Organization"
    produces = (PipelineRecord,)
    incremental = False
    finds_deletions = False

    def fields(self, ctx: StreamContext) -> list[str]:
        return ["Id", "Name"]

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        """Organization always has Id and Name: no describe of it needed."""
        await sales_processes(http, self.api, ctx)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        default = PipelineRecord(
            remote_id=settings.PIPELINE_ID,
            name=settings.PIPELINE_NAME,
            remote_data=values.remote_data(raw),
        )
        processes = _processes(ctx)
        return [
            default,
            *(
                PipelineRecord(remote_id=process, name=name, display_order=order)
                for order, (process, name) in enumerate(processes.names.items(), start=1)
            ),
        ]


def _processes(ctx: StreamContext) -> SalesProcesses:
    """The run's sales processes (read in ``prepare``; none when it was not)."""
    found = ctx.shared.get(PROCESSES_KEY)
    return found if isinstance(found, SalesProcesses) else SalesProcesses()


class StagesStream(SalesforceStream):
    """OpportunityStage metadata: order, probability, closed/won. Small: read whole. Each
    stage belongs to the default pipeline and to every sales process offering it."""

    name = "stages"
    sobject = "OpportunityStage"
    produces = (StageRecord,)
    incremental = False
    finds_deletions = False

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await super().prepare(http, ctx)
        await sales_processes(http, self.api, ctx)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        stage = mapping.map_stage(raw)
        in_processes = [
            replace(stage, remote_id=stage_id(process, stage.remote_id), pipeline_remote_id=process)
            for process in _processes(ctx).processes_with(stage.remote_id)
        ]
        return [stage, *in_processes]


class LeadsStream(SalesforceStream):
    """Leads with their Status changes (LeadHistory child rows) for MQL/SQL times."""

    name = "leads"
    sobject = "Lead"
    produces = (LeadRecord,)
    deleted_type = LeadRecord
    children = {
        settings.LEAD_HISTORY_RELATIONSHIP: soql.select(
            settings.LEAD_HISTORY_RELATIONSHIP,
            settings.LEAD_HISTORY_FIELDS,
            where=["Field = 'Status'"],
            order_by=("CreatedDate",),
        )
    }
    bulk_children = (
        ChildQuery(
            settings.LEAD_HISTORY_RELATIONSHIP,
            "LeadHistory",
            "LeadId",
            settings.LEAD_HISTORY_FIELDS,
            where=("Field = 'Status'",),
        ),
    )

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [mapping.map_lead(raw, lifecycle_classifier(ctx))]


CURRENCY_KEY = "salesforce:default_currency"


class DealsStream(SalesforceStream):
    """Opportunities with their OpportunityHistory rows (a child subquery), so each page
    carries complete stage histories: any stage change bumps the opportunity's stamp."""

    name = "deals"
    sobject = "Opportunity"
    produces = (DealRecord, DealStageHistoryRecord)
    depends_on = ("stages",)
    deleted_type = DealRecord
    children = {
        settings.HISTORY_RELATIONSHIP: soql.select(
            settings.HISTORY_RELATIONSHIP, settings.HISTORY_FIELDS, order_by=("CreatedDate",)
        )
    }
    bulk_children = (
        ChildQuery(
            settings.HISTORY_RELATIONSHIP,
            "OpportunityHistory",
            "OpportunityId",
            settings.HISTORY_FIELDS,
        ),
    )

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        """Single-currency orgs have no CurrencyIsoCode: every amount is in the org's one."""
        await describe(http, self.api, ctx, self.sobject)
        await sales_processes(http, self.api, ctx)
        if "CurrencyIsoCode" not in self.fields(ctx) and CURRENCY_KEY not in ctx.shared:
            await self._read_default_currency(http, ctx)
        await self.choose_bulk(http, ctx)

    async def _read_default_currency(self, http: HttpClient, ctx: StreamContext) -> None:
        text = soql.select("Organization", ["DefaultCurrencyIsoCode"])
        rows = self.extract(
            await http.send(Request(path=self.api.data("/query"), params={"q": text}))
        )
        ctx.shared[CURRENCY_KEY] = (
            values.text(rows[0].get("DefaultCurrencyIsoCode")) if rows else None
        )

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return mapping.map_opportunity(
            raw, default_currency=ctx.shared.get(CURRENCY_KEY), processes=_processes(ctx)
        )
