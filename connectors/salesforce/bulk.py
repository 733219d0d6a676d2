"""Bulk API 2.0 query jobs: the request shapes and the CSV results as REST-like rows.

For large first loads Salesforce recommends Bulk API 2.0: ``POST /jobs/query`` creates a
job, ``GET /jobs/query/{id}`` is polled until ``JobComplete``, and
``GET /jobs/query/{id}/results?locator=..&maxRecords=..`` returns CSV pages whose next
locator is the ``Sforce-Locator`` header (``null`` on the last page). Rows are turned back
into the values a REST query gives (booleans, numbers, ``None`` for empty cells) using the
object's describe, so the same mapping functions apply.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from connectors.salesforce.streams import ApiPaths
from core.sync.connector import Request

#: Above this many rows a full read goes through Bulk API 2.0 instead of REST pages.
DEFAULT_THRESHOLD = 50_000
MAX_RECORDS = 50_000
_NUMBERS = frozenset({"double", "currency", "percent"})
_INTEGERS = frozenset({"int", "long"})


def create_job(api: ApiPaths, soql_text: str, *, include_deleted: bool = False) -> Request:
    return Request(
        method="POST",
        path=api.data("/jobs/query"),
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


def results(api: ApiPaths, job_id: str, locator: str | None) -> Request:
    params: dict[str, Any] = {"maxRecords": MAX_RECORDS}
    if locator:
        params["locator"] = locator
    return Request(path=api.data(f"/jobs/query/{job_id}/results"), params=params)


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
    if kind in _NUMBERS:
        return float(value)
    return value


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
