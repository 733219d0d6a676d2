"""One stream's Bulk API 2.0 read in a run: its job, where it stands, and its child rows.

Two things set a bulk read apart from REST pages (connectors.salesforce.bulk has the
request shapes):

- **No order.** The job query has no ORDER BY (it would turn PK chunking off), so no row's
  ``SystemModstamp`` says how far the read got. What does is the job id and the locator of
  the next results page: both go into the stream's cursor (``Cursor.resume``) with every
  committed page, beside the greatest stamp read so far. The next run reuses the job if
  Salesforce still has it (query results are kept for days) and continues at that
  locator; a job that is gone (404 ``NOT_FOUND``, ``INVALIDJOB``, failed) is started over.
  The last page's cursor carries no ``resume``: the stream is then incremental again.
- **No nesting.** Bulk queries cannot carry the child subqueries the REST queries of
  opportunities (``OpportunityHistories``) and leads (``Histories``) use. Each child
  relationship is read as an object of its own (:class:`ChildQuery`) by a job of its own,
  before the parent's first page, into a :class:`ChildSpool` on disk; each parent page
  then gets its rows' children in the shape a REST subquery gives, so the same mapping
  applies and both paths write the same rows. Child jobs are read whole (every parent page
  may need any child row); their ids are kept in ``resume`` so a resumed run re-reads
  their results without new jobs when they still exist.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.salesforce import bulk, settings, soql
from connectors.salesforce.paths import ApiPaths
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Cursor, HttpClient, Request

#: Keys of ``Cursor.resume``: the parent job, the locator of its next page, child jobs.
JOB, LOCATOR, CHILD = "job", "locator", "child:"
#: Parent ids per lookup in the spool (SQLite allows 999 bound parameters).
_IDS_PER_LOOKUP = 500


@dataclass(frozen=True, slots=True)
class ChildQuery:
    """A child relationship that REST reads as a subquery, read over Bulk as its own object."""

    relationship: str
    sobject: str
    parent_field: str
    fields: tuple[str, ...]
    where: tuple[str, ...] = ()

    def text(self) -> str:
        return soql.select(self.sobject, ["Id", self.parent_field, *self.fields], where=self.where)


class ChildSpool:
    """Child rows in a private temporary SQLite database (on disk, removed when closed):
    stitching them to their parents keeps memory flat whatever the org's size."""

    def __init__(self) -> None:
        self._children: dict[str, ChildQuery] = {}
        self._db = sqlite3.connect("")
        # A scratch file: nothing to recover after a crash, a 16 MB page cache at most.
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("PRAGMA cache_size = -16000")
        self._db.execute(
            "CREATE TABLE child (relationship TEXT, parent TEXT, at TEXT, id TEXT, data TEXT)"
        )

    def add(self, child: ChildQuery, rows: Iterable[Mapping[str, Any]]) -> None:
        self._children[child.relationship] = child
        self._db.executemany(
            "INSERT INTO child VALUES (?, ?, ?, ?, ?)",
            [
                (
                    child.relationship,
                    row.get(child.parent_field),
                    row.get("CreatedDate") or "",
                    row.get("Id") or "",
                    json.dumps(_picked(row, child)),
                )
                for row in rows
            ],
        )

    def ready(self) -> None:
        """Every child row is in: index them for the per-page lookups. The index covers the
        rows (``data`` included) so a page's parents, which come in id order, are read from
        neighbouring index pages instead of one table page per child row."""
        self._db.execute("CREATE INDEX child_parent ON child (parent, relationship, at, id, data)")

    def attach(self, parents: Sequence[dict[str, Any]], relationships: Sequence[str]) -> None:
        """Give each parent row its children as a REST subquery does, oldest first:
        ``{"totalSize", "done", "records"}``, or None when it has none."""
        found: dict[tuple[str, str], list[Any]] = {}
        #: One ``attributes`` per object, shared by its rows (read-only): less memory.
        attributes = {name: {"type": c.sobject} for name, c in self._children.items()}
        ids = [str(row.get("Id")) for row in parents]
        for start in range(0, len(ids), _IDS_PER_LOOKUP):
            chunk = ids[start : start + _IDS_PER_LOOKUP]
            marks = ", ".join("?" * len(chunk))
            lookup = (
                "SELECT parent, relationship, data FROM child "
                f"WHERE parent IN ({marks}) ORDER BY parent, relationship, at, id"
            )
            for parent, relationship, data in self._db.execute(lookup, chunk):
                record = {"attributes": attributes.get(relationship), **json.loads(data)}
                found.setdefault((parent, relationship), []).append(record)
        for row in parents:
            for relationship in relationships:
                records = found.get((str(row.get("Id")), relationship))
                row[relationship] = (
                    {"totalSize": len(records), "done": True, "records": records}
                    if records
                    else None
                )

    def close(self) -> None:
        self._db.close()


def _picked(row: Mapping[str, Any], child: ChildQuery) -> dict[str, Any]:
    return {name: row.get(name) for name in child.fields}


@dataclass(frozen=True, slots=True)
class Plan:
    """What a stream reads: the same object, fields and filter as its REST query."""

    sobject: str
    fields: Sequence[str]
    where: Sequence[str]
    query_all: bool
    #: Field types from the describe, to turn CSV cells back into REST values.
    types: Mapping[str, str]
    children: Sequence[ChildQuery] = ()


@dataclass
class BulkRead:
    """A job being paged through; ``locator`` is the next page's (None: the first)."""

    api: ApiPaths
    plan: Plan
    job_id: str
    locator: str | None = None
    #: The greatest (SystemModstamp, Id) read so far, this run and the runs before.
    max: Cursor | None = None
    done: bool = False
    child_jobs: dict[str, str] = field(default_factory=dict)
    spool: ChildSpool | None = None

    def first_request(self) -> Request:
        return bulk.results(self.api, self.job_id, self.locator, rows=self.page_rows)

    def next_request(self, headers: Mapping[str, str]) -> Request | None:
        locator = bulk.next_locator(headers)
        if locator is None:
            return None
        return bulk.results(self.api, self.job_id, locator, rows=self.page_rows)

    @property
    def page_rows(self) -> int:
        """Smaller pages when rows carry their children (memory stays within budget)."""
        if not self.plan.children:
            return settings.BULK_PAGE_ROWS
        return min(settings.BULK_PAGE_ROWS, settings.BULK_PAGE_ROWS_WITH_CHILDREN)

    def extract(
        self, text: str, headers: Mapping[str, str], cursor_of: Callable[[Any], Cursor | None]
    ) -> list[dict[str, Any]]:
        """A results page as REST-shaped rows (children attached); remembers where it is."""
        rows = list(bulk.rows(text, self.plan.types, self.plan.sobject))
        for row in rows:
            cursor = cursor_of(row)
            if cursor is not None and (self.max is None or cursor > self.max):
                self.max = cursor
        if self.spool is not None:
            self.spool.attach(rows, [child.relationship for child in self.plan.children])
        self.locator = bulk.next_locator(headers)
        self.done = self.locator is None
        if self.done:
            self.close()
        return rows

    def cursor(self) -> Cursor | None:
        """The cursor to commit with the page just extracted: with ``resume`` until the
        job's last page, a plain one (the greatest stamp read) after it."""
        if self.max is None:
            return None
        if self.done:
            return Cursor(self.max.updated_at, self.max.remote_id)
        resume = {JOB: self.job_id, LOCATOR: self.locator or ""}
        resume |= {CHILD + name: job for name, job in self.child_jobs.items()}
        return Cursor(self.max.updated_at, self.max.remote_id, resume)

    async def load_children(self, http: HttpClient, jobs: Mapping[str, str]) -> None:
        """Read every child relationship's rows into the spool, reusing ``jobs`` (by
        relationship) that still exist."""
        if not self.plan.children:
            return
        self.spool = ChildSpool()
        for child in self.plan.children:
            job = jobs.get(child.relationship)
            if job is None or not await bulk.reusable(http, self.api, job):
                job = await bulk.start(http, self.api, child.text())
            self.child_jobs[child.relationship] = job
            locator: str | None = None
            while True:
                page = await http.send(bulk.results(self.api, job, locator))
                self.spool.add(child, bulk.rows(page.text, {}, child.sobject))
                locator = bulk.next_locator(page.headers)
                if locator is None:
                    break
        self.spool.ready()

    def close(self) -> None:
        if self.spool is not None:
            self.spool.close()
            self.spool = None


async def open_read(
    http: HttpClient,
    api: ApiPaths,
    plan: Plan,
    *,
    resume: Mapping[str, str] | None = None,
    start: Cursor | None = None,
) -> BulkRead | None:
    """The bulk read of ``plan``: an earlier run's job continued where it stopped when it
    still exists, else a new job when the object has more rows than the threshold; None
    (read REST pages) below it or when a job fails."""
    try:
        job = (resume or {}).get(JOB)
        if job and await bulk.reusable(http, api, job):
            read = BulkRead(api, plan, job, (resume or {}).get(LOCATOR) or None, start)
            children = {
                key.removeprefix(CHILD): value
                for key, value in (resume or {}).items()
                if key.startswith(CHILD)
            }
            await read.load_children(http, children)
            return read
        rows = await bulk.count(http, api, plan.sobject, plan.where, query_all=plan.query_all)
        if rows <= api.bulk_threshold:
            return None
        text = soql.select(plan.sobject, plan.fields, where=plan.where)
        read = BulkRead(
            api, plan, await bulk.start(http, api, text, include_deleted=plan.query_all)
        )
        await read.load_children(http, {})
        return read
    except (bulk.JobFailed, CapabilityUnavailable):
        # A failed job, or an org without Bulk API 2.0 (job creation refused): REST pages.
        return None
