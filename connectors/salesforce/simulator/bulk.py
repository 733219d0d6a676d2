"""Bulk API 2.0 query jobs of the simulated org: create, poll, CSV results with locators."""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.salesforce.simulator import soql
from core.simulation.paging import page

if TYPE_CHECKING:
    from connectors.salesforce.simulator.tables import Table


def _error(status: int, code: str, message: str) -> Response:
    return JSONResponse([{"errorCode": code, "message": message}], status)


def _disabled() -> Response:
    """An org without Bulk API 2.0 (the permission or the edition lacks it)."""
    return _error(
        403, "FUNCTIONALITY_NOT_ENABLED", "Bulk API 2.0 is not enabled for this organization"
    )


@dataclass
class _Job:
    id: str
    operation: str
    query: soql.Query
    rows: list[dict[str, Any]]
    version: str
    polls: int = 0

    def info(self) -> dict[str, Any]:
        done = self.polls > 1
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.query.sobject,
            "createdById": "005Dn0000000000001",
            "state": "JobComplete" if done else ("InProgress" if self.polls else "UploadComplete"),
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
            "numberRecordsProcessed": len(self.rows) if done else 0,
            "retries": 0,
        }


def _cell(value: Any, kind: str = "string") -> str:
    """A CSV cell as Bulk API 2.0 writes it: empty for null, datetimes in UTC ending in
    ``.000Z`` (``2024-05-01T10:00:00.000Z``, to the second as every Salesforce datetime)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if kind == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        return value[:19] + ".000Z"
    return str(value)


class BulkJobs:
    """Jobs become ``JobComplete`` on their second status poll, as a slow org would. Without
    ORDER BY, rows come in id order (as PK chunking reads them), not by SystemModstamp."""

    def __init__(self, tables: Callable[[], dict[str, Table]], *, enabled: bool = True) -> None:
        self._tables = tables
        #: False: the org has no Bulk API (every jobs call answers 403).
        self.enabled = enabled
        self.jobs: dict[str, _Job] = {}
        self._ids = itertools.count(1)
        #: (job id, locator) of every results page served, for tests of resumed reads.
        self.served: list[tuple[str, str]] = []

    async def create(self, request: Request) -> Response:
        if not self.enabled:
            return _disabled()
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, "JSON_PARSER_ERROR", "Unexpected character in request body")
        operation = body.get("operation")
        if operation not in ("query", "queryAll"):
            return _error(400, "INVALIDJOB", f"Invalid operation: {operation}")
        try:
            parsed = soql.parse(str(body.get("query", "")))
            if parsed.children:
                raise soql.SoqlError(
                    "FUNCTIONALITY_NOT_ENABLED", "Nested queries are not supported"
                )
            if parsed.count:
                raise soql.SoqlError(
                    "FUNCTIONALITY_NOT_ENABLED", "Aggregate queries are not supported"
                )
            found = soql.run(parsed, self._tables(), include_deleted=operation == "queryAll")
            if not parsed.order_by:  # PK chunking: chunks of the primary key, in id order
                found.sort(key=lambda row: row["Id"])
        except soql.SoqlError as exc:
            return _error(400, "INVALIDJOB", f"Failed to process query: {exc.code}: {exc.message}")
        job = _Job(
            f"750Dn{next(self._ids):013d}", operation, parsed, found, request.path_params["version"]
        )
        self.jobs[job.id] = job
        return JSONResponse(job.info())

    def _job(self, request: Request) -> _Job | Response:
        if not self.enabled:
            return _disabled()
        job = self.jobs.get(request.path_params["job"])
        if job is None:
            return _error(404, "NOT_FOUND", "The requested resource does not exist")
        if job.version != request.path_params["version"]:
            return _error(409, "INVALIDJOB", "Job was created with another API version")
        return job

    async def status(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        job.polls += 1
        return JSONResponse(job.info())

    async def results(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        if job.polls <= 1:
            return _error(400, "INVALIDJOB", "Job is not complete")
        locator = request.query_params.get("locator") or "0"
        size = request.query_params.get("maxRecords") or "50000"
        if not locator.isdigit() or not size.isdigit():
            return _error(400, "INVALIDJOB", "Invalid locator or maxRecords")
        batch = page(job.rows, int(locator), max(1, int(size)))
        self.served.append((job.id, locator))
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(job.query.fields)
        table = soql.find_table(self._tables(), job.query.sobject)
        kinds = [
            table.all_fields().get(n, "string") if table else "string" for n in job.query.fields
        ]
        for row in batch.items:
            writer.writerow(
                [_cell(row.get(n), k) for n, k in zip(job.query.fields, kinds, strict=True)]
            )
        headers = {
            "Sforce-Locator": "null" if batch.next is None else str(batch.next),
            "Sforce-NumberOfRecords": str(len(batch.items)),
        }
        return Response(out.getvalue(), media_type="text/csv", headers=headers)

    async def delete(self, request: Request) -> Response:
        job = self._job(request)
        if isinstance(job, Response):
            return job
        del self.jobs[job.id]
        return Response(status_code=204)
