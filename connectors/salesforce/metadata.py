"""Org metadata read once per run and shared between streams: describes, the org's time
zone and sales processes.

Sales processes: an org may sell through several processes (new business, renewals ...).
Each Opportunity record type names a business process (``RecordType.BusinessProcessId``),
and a process offers a subset of the org's stages. Each process becomes a pipeline whose
stages are ``{process id}:{stage API name}``; opportunities are placed by their
``RecordTypeId``. The default pipeline (``settings.PIPELINE_ID``, stage id = API name)
always exists: it holds orgs without record types (no ``RecordTypeId`` in the describe) and
opportunities of the master record type (``RecordTypeId`` null) or of an unknown one.

SOQL cannot read a process's stages; the UI API's picklist values of ``StageName`` for a
record type of that process can (``/ui-api/object-info/Opportunity/picklist-values/...``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.salesforce import settings, soql
from connectors.salesforce.paths import ApiPaths
from connectors.salesforce.state import run_state
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import HttpClient, Request, StreamContext


async def describe(
    http: HttpClient, ctx: StreamContext, sobject: str, *, capability: str | None = None
) -> Any:
    """The object's describe, read once per run and shared between streams. With
    ``capability``, an object the org or user lacks raises CapabilityUnavailable."""
    run = run_state(ctx)
    if sobject not in run.describes:
        request = Request(path=run.api.data(f"/sobjects/{sobject}/describe"), capability=capability)
        run.describes[sobject] = await http.send(request)
    return run.describes[sobject]


def described(ctx: StreamContext, sobject: str) -> Any:
    """The object's describe if this run read it, else None."""
    return run_state(ctx).describes.get(sobject)


async def org_timezone(http: HttpClient, ctx: StreamContext) -> tzinfo:
    """The org's default time zone (``Organization.TimeZoneSidKey``), read once per run:
    the calendar of its date-only fields (a task's due date). UTC when unknown."""
    run = run_state(ctx)
    if run.timezone is None:
        text = soql.select("Organization", ["TimeZoneSidKey"])
        page = await http.send(Request(path=run.api.data("/query"), params={"q": text}))
        rows = page.get("records") if isinstance(page, Mapping) else None
        key = rows[0].get("TimeZoneSidKey") if rows else None
        try:
            run.timezone = ZoneInfo(str(key)) if key else UTC
        except (ZoneInfoNotFoundError, ValueError):
            run.timezone = UTC
    return run.timezone


def field_names(described: Any) -> set[str]:
    fields = described.get("fields", []) if isinstance(described, Mapping) else []
    return {f["name"] for f in fields if isinstance(f, Mapping) and "name" in f}


def stage_id(process_id: str, api_name: str) -> str:
    """A stage's remote id within a sales process's pipeline."""
    return f"{process_id}:{api_name}"


@dataclass(frozen=True, slots=True)
class SalesProcesses:
    """The org's opportunity sales processes (none: one default pipeline)."""

    #: Business process id -> name, in the order read.
    names: dict[str, str] = field(default_factory=dict)
    #: Opportunity record type id -> business process id.
    record_types: dict[str, str] = field(default_factory=dict)
    #: Business process id -> the stage API names it offers.
    stages: dict[str, frozenset[str]] = field(default_factory=dict)

    def place(self, record_type_id: str | None, stage: str) -> tuple[str, str]:
        """(pipeline id, stage id) of an opportunity in ``stage`` with that record type."""
        process = self.record_types.get(record_type_id or "")
        if process is not None and stage in self.stages.get(process, ()):
            return process, stage_id(process, stage)
        return settings.PIPELINE_ID, stage

    def processes_with(self, stage: str) -> list[str]:
        return [p for p in self.names if stage in self.stages.get(p, ())]


def _records(page: Any) -> Sequence[Mapping[str, Any]]:
    records = page.get("records") if isinstance(page, Mapping) else None
    return records if isinstance(records, list) else []


async def _query(http: HttpClient, api: ApiPaths, text: str) -> list[Mapping[str, Any]]:
    """Every row of a (small) metadata query, following ``nextRecordsUrl``."""
    rows: list[Mapping[str, Any]] = []
    page = await http.send(
        Request(path=api.data("/query"), params={"q": text}, capability="record_types")
    )
    rows += _records(page)
    while isinstance(page, Mapping) and page.get("nextRecordsUrl"):
        page = await http.send(Request(path=str(page["nextRecordsUrl"])))
        rows += _records(page)
    return rows


async def sales_processes(http: HttpClient, ctx: StreamContext) -> SalesProcesses:
    """The org's sales processes, read once per run (see the module docstring). Orgs
    without record types (no ``RecordTypeId`` on Opportunity) have none; so do orgs whose
    user cannot read ``RecordType``/``BusinessProcess`` (INVALID_TYPE): one pipeline."""
    run = run_state(ctx)
    if isinstance(run.processes, SalesProcesses):
        return run.processes
    processes = SalesProcesses()
    if "RecordTypeId" in field_names(await describe(http, ctx, "Opportunity")):
        try:
            processes = await _read_processes(http, run.api)
        except CapabilityUnavailable:
            processes = SalesProcesses()
    run.processes = processes
    return processes


def processes_of(ctx: StreamContext) -> SalesProcesses:
    """The run's sales processes (none when they were not read)."""
    found = run_state(ctx).processes
    return found if isinstance(found, SalesProcesses) else SalesProcesses()


async def _read_processes(http: HttpClient, api: ApiPaths) -> SalesProcesses:
    kinds = soql.select(
        "RecordType",
        ["Id", "BusinessProcessId"],
        where=["SobjectType = 'Opportunity'"],
        order_by=("Id",),
    )
    record_types = {
        str(r["Id"]): str(r["BusinessProcessId"])
        for r in await _query(http, api, kinds)
        if r.get("Id") and r.get("BusinessProcessId")
    }
    listed = soql.select(
        "BusinessProcess",
        ["Id", "Name"],
        where=["TableEnumOrId = 'Opportunity'"],
        order_by=("Name",),
    )
    used = set(record_types.values())
    names = {
        str(r["Id"]): str(r.get("Name") or r["Id"])
        for r in await _query(http, api, listed)
        if r.get("Id") in used  # a process no record type uses holds no opportunity
    }
    stages: dict[str, frozenset[str]] = {}
    for process in names:
        record_type = next(k for k, v in record_types.items() if v == process)
        path = f"/ui-api/object-info/Opportunity/picklist-values/{record_type}/StageName"
        answer = await http.send(Request(path=api.data(path), capability="record_types"))
        values = answer.get("values", []) if isinstance(answer, Mapping) else []
        stages[process] = frozenset(
            str(v["value"]) for v in values if isinstance(v, Mapping) and v.get("value")
        )
    return SalesProcesses(names, record_types, stages)
