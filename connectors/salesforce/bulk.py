"""Bulk API 2.0 query jobs: the request shapes and the CSV results as REST-like rows.

For large first loads Salesforce recommends Bulk API 2.0: ``POST /jobs/query`` creates a
job, ``GET /jobs/query/{id}`` is polled until ``JobComplete``, and
``GET /jobs/query/{id}/results?locator=..&maxRecords=..`` returns CSV pages whose next
locator is the ``Sforce-Locator`` header (``null`` on the last page). Rows are turned back
into the values a REST query gives (booleans, numbers, ``None`` for empty cells) using the
object's describe, so the same mapping functions apply.

Streams choose this path on a full read (first load) whose ``SELECT COUNT()`` is above the
connection's threshold: :func:`start` creates the job and polls it while the stream
prepares, then the engine pages through the results like any other stream (requests with
``decode="text"``). Where a read stands, its children and how a stopped one is continued
by the next run: connectors.salesforce.bulk_read.
"""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.salesforce import settings
from connectors.salesforce.paths import ApiPaths
from core.sync.connector import HttpClient, Request
from core.sync.errors import RequestFailed

_NUMBERS = frozenset({"double", "currency", "percent"})
_INTEGERS = frozenset({"int", "long"})


def create_job(api: ApiPaths, soql_text: str, *, include_deleted: bool = False) -> Request:
    return Request(
        method="POST",
        path=api.data("/jobs/query"),
        capability="bulk_api",
        json={
            "operation": "queryAll" if include_deleted else "query",
            "query": soql_text,
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )


def job_status(api: ApiPaths, job_id: str) -> Request:
    return Request(path=api.data(f"/jobs/query/{job_id}"))


def results(api: ApiPaths, job_id: str, locator: str | None, *, rows: int | None = None) -> Request:
    params: dict[str, Any] = {"maxRecords": rows or settings.BULK_PAGE_ROWS}
    if locator:
        params["locator"] = locator
    return Request(path=api.data(f"/jobs/query/{job_id}/results"), params=params, decode="text")


def next_locator(headers: Mapping[str, str]) -> str | None:
    """The locator of the next results page, None after the last one."""
    value = next((v for k, v in headers.items() if k.lower() == "sforce-locator"), None)
    return None if value in (None, "", "null") else value


class JobFailed(RuntimeError):
    """The job ended ``Failed`` or ``Aborted``; fall back to REST paging."""


def is_complete(job: Mapping[str, Any]) -> bool:
    state = job.get("state")
    if state in ("Failed", "Aborted"):
        raise JobFailed(f"Bulk API job {job.get('id')} {state}: {job.get('errorMessage', '')}")
    return state == "JobComplete"


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind == "boolean":
        return value.lower() == "true"
    if kind in _INTEGERS:
        return int(value)
    if kind in _NUMBERS:  # whole numbers stay whole, as in the JSON of a REST query
        return int(value) if value.lstrip("-").isdigit() else float(value)
    if kind == "datetime":
        return rest_datetime(value)
    return value


def rest_datetime(value: str) -> str:
    """A Bulk CSV datetime (``2024-05-01T10:00:00.000Z``, sometimes without milliseconds)
    in the REST form (``2024-05-01T10:00:00.000+0000``): both paths store the same text."""
    if not value.endswith("Z"):
        return value
    body = value[:-1]
    if "." not in body[10:]:
        body += ".000"
    return body + "+0000"


def rows(text: str, field_types: Mapping[str, str], sobject: str) -> Iterator[dict[str, Any]]:
    """CSV rows as REST-shaped records (``attributes`` included) typed by the describe."""
    reader = csv.DictReader(io.StringIO(text))
    for line in reader:
        record: dict[str, Any] = {"attributes": {"type": sobject}}
        for name, value in line.items():
            record[name] = _typed(value, field_types.get(name, "string"))
        yield record


def field_types(described: Any) -> dict[str, str]:
    fields: Sequence[Any] = described.get("fields", []) if isinstance(described, Mapping) else []
    return {f["name"]: str(f.get("type", "string")) for f in fields if "name" in f}


async def count(
    http: HttpClient, api: ApiPaths, sobject: str, where: Sequence[str], *, query_all: bool
) -> int:
    """``SELECT COUNT() FROM sobject WHERE ...``: one cheap call, ``totalSize`` only."""
    text = f"SELECT COUNT() FROM {sobject}"
    if where:
        text += " WHERE " + " AND ".join(where)
    resource = "/queryAll" if query_all else "/query"
    page = await http.send(Request(path=api.data(resource), params={"q": text}))
    total = page.get("totalSize") if isinstance(page, Mapping) else None
    return int(total) if isinstance(total, int) else 0


async def start(
    http: HttpClient, api: ApiPaths, soql_text: str, *, include_deleted: bool = False
) -> str:
    """Create a query job and wait until its results can be read; its id."""
    job = await http.send(create_job(api, soql_text, include_deleted=include_deleted))
    job_id = str(job["id"]) if isinstance(job, Mapping) and job.get("id") else None
    if job_id is None:
        raise JobFailed(f"Bulk API job creation answered without an id: {job!r:.200}")
    await wait(http, api, job_id)
    return job_id


async def wait(http: HttpClient, api: ApiPaths, job_id: str) -> None:
    """Poll the job until ``JobComplete``, backing off from ``BULK_POLL_SECONDS`` to
    ``BULK_POLL_MAX_SECONDS``; a job still running after ``BULK_MAX_WAIT_SECONDS`` raises
    :class:`JobFailed` (as ``Failed`` does)."""
    delay, deadline = settings.BULK_POLL_SECONDS, time.monotonic() + settings.BULK_MAX_WAIT_SECONDS
    while not is_complete(await http.send(job_status(api, job_id))):
        if time.monotonic() > deadline:
            raise JobFailed(f"Bulk API job {job_id} still running after the longest wait")
        await asyncio.sleep(delay)
        delay = min(delay * 2, settings.BULK_POLL_MAX_SECONDS)


async def reusable(http: HttpClient, api: ApiPaths, job_id: str) -> bool:
    """True when an earlier run's job can still be read (Salesforce keeps query results
    for days); False when it is gone: 404 ``NOT_FOUND``, 400 ``INVALIDJOB`` (expired),
    409 (made with another API version), or it failed."""
    try:
        await wait(http, api, job_id)
    except JobFailed:
        return False
    except RequestFailed as exc:
        if exc.status in (400, 404, 409):
            return False
        raise
    return True
