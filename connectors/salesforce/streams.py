"""Salesforce streams: one SOQL object each, read by a plain ``read`` loop.

Every stream first reads the object's ``describe`` (each run, so new custom fields appear
without a restart) and selects the wanted standard fields the org has plus every custom
field. Incremental reads filter ``SystemModstamp >= cursor - look-back``; a first load of
a big object goes through Bulk API 2.0 (connectors.salesforce.bulk_read); child subqueries
are read to their end (connectors.salesforce.children); deletions come from ``getDeleted``
or ``queryAll`` on ``IsDeleted = true`` (connectors.salesforce.deletions).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ClassVar

from connectors.salesforce import bulk, bulk_read, deletions, mapping, settings, soql, values
from connectors.salesforce.bulk_read import ChildQuery
from connectors.salesforce.children import complete_children
from connectors.salesforce.metadata import (
    describe,
    described,
    org_timezone,
    processes_of,
    sales_processes,
    stage_id,
)
from connectors.salesforce.state import run_state
from core.models.enums import SyncMode
from core.sync.connector import (
    Cursor,
    HttpClient,
    MappingError,
    Page,
    Request,
    Stream,
    StreamContext,
)
from core.sync.declarative import prefetched
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


def lifecycle_classifier(ctx: StreamContext) -> mapping.Classifier:
    """Lead status -> lead | mql | sql | customer, from the connection's field mappings
    (their ``lifecycle`` part, over the engine's defaults)."""
    classify: mapping.Classifier = ctx.mappings.lifecycle_kind
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
    #: Deleted ids are read (``deleted_type``), but only those of the last 15 days
    #: (``getDeleted``, the recycle bin): the stream does not claim to list every deletion,
    #: so the engine's full-sync reconciliation also soft-deletes the rows a complete full
    #: read no longer lists (hard deletes, rows purged before a sync looked).
    finds_deletions = False
    paginator = NextUrlPaginator(("nextRecordsUrl",))
    #: Read with ``queryAll`` (archived activities are hidden from ``query``).
    query_all: ClassVar[bool] = False
    #: The record class soft-deleted for rows listed by the deletions query.
    deleted_type: ClassVar[type[Record] | None] = None
    #: Child relationship -> subquery, read with each row where the org's describe has it.
    children: ClassVar[dict[str, str]] = {}
    #: The same children as objects of their own, for Bulk API reads (which cannot nest).
    bulk_children: ClassVar[tuple[ChildQuery, ...]] = ()
    #: The optional capability the object is (``user_roles`` for UserRole): its requests
    #: carry it, so an org or user without the object SKIPs the stream.
    capability: ClassVar[str | None] = None

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        """Metadata, then the rows (a Bulk API job or REST pages, children completed),
        then the deleted ids."""
        await self.prepare(http, ctx)
        job = await self.open_bulk(http, ctx)
        if job is not None:
            try:
                async for page in self._bulk_pages(http, job):
                    yield page
            finally:
                job.close()
        else:
            relationships = list(self.subquery_names(ctx))
            pages = prefetched(
                http,
                self.first_request(ctx),
                lambda page, request: self.next_request(page, request, ctx),
            )
            async for body, is_last in pages:
                rows = self.extract(body)
                if relationships:
                    await complete_children(http, rows, relationships)
                yield Page(raws=rows, final=is_last)
        if self.deleted_type is not None:
            api, kind = run_state(ctx).api, self.deleted_type
            async for ids in deletions.deleted_ids(
                http, api, self.sobject, self.since(ctx), ctx.now
            ):
                if ids:
                    yield Page(deleted=[(kind, remote_id) for remote_id in ids])

    async def _bulk_pages(self, http: HttpClient, job: bulk_read.BulkRead) -> AsyncIterator[Page]:
        """The job's CSV pages as REST-shaped rows; each page carries where the read
        stands (job and locator) so a stopped run resumes there."""
        request: Request | None = job.first_request()
        while request is not None:
            body = await http.send(request)
            rows = job.extract(body.text, body.headers, self._cursor)
            yield Page(raws=rows, cursor=job.cursor())
            request = None if job.done else job.next_request(body.headers)

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await describe(http, ctx, self.sobject, capability=self.capability)

    async def open_bulk(self, http: HttpClient, ctx: StreamContext) -> bulk_read.BulkRead | None:
        """Continue an earlier run's Bulk API job, or on a full read above the threshold
        start one for the same query. A job that fails, or an org without Bulk API 2.0,
        means REST pages."""
        resume = _resume(ctx)
        if not self.incremental or (resume is None and ctx.since() is not None):
            return None
        if not ctx.capabilities.available("bulk_api"):
            return None
        found = described(ctx, self.sobject)
        present = {r.get("relationshipName") for r in _relationships(found)}
        plan = bulk_read.Plan(
            self.sobject,
            self.fields(ctx),
            self.where(ctx),
            self.query_all,
            bulk.field_types(found),
            [c for c in self.bulk_children if c.relationship in present],
        )
        start = ctx.start_cursor
        return await bulk_read.open_read(
            http,
            run_state(ctx).api,
            plan,
            resume=resume,
            start=None if start is None else Cursor(start.updated_at, start.remote_id),
        )

    def since(self, ctx: StreamContext) -> datetime | None:
        """The incremental lower bound; none while an unfinished bulk read is resumed (its
        saved stamp is the greatest read so far, not a position in an ordered read)."""
        return None if _resume(ctx) is not None else ctx.since()

    def fields(self, ctx: StreamContext) -> list[str]:
        found = described(ctx, self.sobject)
        if found is None:
            return list(settings.FIELDS[self.sobject])
        return selectable_fields(settings.FIELDS[self.sobject], found)

    def where(self, ctx: StreamContext) -> list[str]:
        clauses = ["IsDeleted = false"] if self.query_all else []
        since = self.since(ctx) if self.incremental else None
        clauses += soql.since_clause(since)
        if since is not None and ctx.now is not None:
            clauses.append(f"SystemModstamp <= {soql.literal(ctx.now)}")
        return clauses

    def subquery_names(self, ctx: StreamContext) -> list[str]:
        """The child relationships the org has (all, before describe)."""
        found = described(ctx, self.sobject)
        if found is None:
            return list(self.children)
        present = {r.get("relationshipName") for r in _relationships(found)}
        return [name for name in self.children if name in present]

    def subqueries(self, ctx: StreamContext) -> list[str]:
        return [self.children[name] for name in self.subquery_names(ctx)]

    def query(self, ctx: StreamContext) -> str:
        order = ("SystemModstamp", "Id") if self.incremental else ("Id",)
        return soql.select(
            self.sobject,
            self.fields(ctx),
            where=self.where(ctx),
            order_by=order,
            children=self.subqueries(ctx),
        )

    def first_request(self, ctx: StreamContext) -> Request | None:
        resource = "/queryAll" if self.query_all else "/query"
        return Request(
            path=run_state(ctx).api.data(resource),
            params={"q": self.query(ctx)},
            capability=self.capability,
        )

    def extract(self, page: Any) -> Sequence[dict[str, Any]]:
        records = page.get("records") if isinstance(page, Mapping) else None
        return records if isinstance(records, list) else []

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
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


def _resume(ctx: StreamContext) -> Mapping[str, str] | None:
    """Where an earlier run stopped inside a bulk read (incremental runs only)."""
    start = ctx.start_cursor
    if ctx.mode is SyncMode.FULL or start is None:
        return None
    return start.resume or None


def _relationships(found: Any) -> list[Mapping[str, Any]]:
    listed = found.get("childRelationships", []) if isinstance(found, Mapping) else []
    return [r for r in listed if isinstance(r, Mapping)]


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
        await sales_processes(http, ctx)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        default = PipelineRecord(
            remote_id=settings.PIPELINE_ID,
            name=settings.PIPELINE_NAME,
            remote_data=values.remote_data(raw),
        )
        processes = processes_of(ctx)
        return [
            default,
            *(
                PipelineRecord(remote_id=process, name=name, display_order=order)
                for order, (process, name) in enumerate(processes.names.items(), start=1)
            ),
        ]


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
        await sales_processes(http, ctx)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        stage = mapping.map_stage(raw)
        in_processes = [
            replace(stage, remote_id=stage_id(process, stage.remote_id), pipeline_remote_id=process)
            for process in processes_of(ctx).processes_with(stage.remote_id)
        ]
        return [stage, *in_processes]


class LeadsStream(SalesforceStream):
    """Leads with their Status changes (LeadHistory child rows) and MQL/SQL custom date
    fields for MQL/SQL times."""

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

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await super().prepare(http, ctx)
        await org_timezone(http, ctx)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        run = run_state(ctx)
        return [mapping.map_lead(raw, lifecycle_classifier(ctx), run.date_fields(), run.zone)]


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
        """Single-currency orgs have no CurrencyIsoCode: every amount is in the org's
        corporate currency (``Organization.DefaultCurrencyIsoCode``)."""
        await describe(http, ctx, self.sobject)
        await sales_processes(http, ctx)
        run = run_state(ctx)
        if "CurrencyIsoCode" not in self.fields(ctx) and not run.default_currency_read:
            text = soql.select("Organization", ["DefaultCurrencyIsoCode"])
            page = await http.send(Request(path=run.api.data("/query"), params={"q": text}))
            rows = self.extract(page)
            run.default_currency = (
                values.text(rows[0].get("DefaultCurrencyIsoCode")) if rows else None
            )
            run.default_currency_read = True

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return mapping.map_opportunity(
            raw, default_currency=run_state(ctx).default_currency, processes=processes_of(ctx)
        )
