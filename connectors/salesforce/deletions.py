"""Where a stream learns about deleted rows: ``getDeleted``, else ``queryAll`` on ``IsDeleted``.

- An incremental window that starts within ``settings.GET_DELETED_RETENTION`` asks
  ``GET /sobjects/{type}/deleted/?start=&end=`` (REST guide, "Get Deleted Records"): one
  call, every deletion of the window, rows already purged from the recycle bin included.
- When ``getDeleted`` refuses the window (400 ``INVALID_REPLICATION_DATE``: start older
  than the log or after the end; 404 or another 4xx for an object it does not cover), or
  answers that its log starts after the window (``earliestDateAvailable``: the log can be
  purged early), the window is read again through ``queryAll ... WHERE IsDeleted = true``
  (what the recycle bin still holds, 15 days).
- Full reads and windows older than the log go straight to ``queryAll``.

What neither can see (rows hard-deleted or purged from the recycle bin before the sync
looked) is caught by the id reconciliation of the scheduled full sync: the engine
soft-deletes every row a complete full read no longer listed (docs/connectors/salesforce.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce import settings, soql, values
from connectors.salesforce.paths import ApiPaths
from core.sync.connector import HttpClient, MappingError, Request
from core.sync.errors import RequestFailed


def _log_time(value: datetime) -> str:
    """``getDeleted``'s datetime parameters (seconds are ignored by the API)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def query_all(api: ApiPaths, sobject: str, since: datetime | None) -> Request:
    text = soql.select(
        sobject,
        ["Id", "SystemModstamp"],
        where=["IsDeleted = true", *soql.since_clause(since)],
        order_by=("SystemModstamp", "Id"),
    )
    return Request(path=api.data("/queryAll"), params={"q": text})


def get_deleted(api: ApiPaths, sobject: str, since: datetime, now: datetime) -> Request:
    return Request(
        path=api.data(f"/sobjects/{sobject}/deleted/"),
        params={"start": _log_time(since), "end": _log_time(now)},
    )


def uses_log(since: datetime | None, now: datetime) -> bool:
    """True when the window starts recently enough for ``getDeleted``."""
    return since is not None and now - since < settings.GET_DELETED_RETENTION


async def deleted_ids(
    http: HttpClient, api: ApiPaths, sobject: str, since: datetime | None, now: datetime | None
) -> AsyncIterator[list[str]]:
    """The ids deleted since ``since`` (all in the recycle bin when None), page by page."""
    now = now or datetime.now(UTC)
    if since is not None and uses_log(since, now):
        try:
            log = await http.send(get_deleted(api, sobject, since, now))
        except RequestFailed as exc:
            if exc.status is None or not 400 <= exc.status < 500:
                raise
            log = None  # the log refuses this window: the recycle bin below
        if log is not None:
            yield ids_of(log)
            if not _log_starts_after(log, since):
                return
    request: Request | None = query_all(api, sobject, since)
    while request is not None:
        page = await http.send(request)
        yield ids_of(page)
        url = page.get("nextRecordsUrl") if isinstance(page, Mapping) else None
        done = page.get("done") if isinstance(page, Mapping) else True
        request = Request(path=str(url)) if url and done is not True else None


def _log_starts_after(page: Any, since: datetime) -> bool:
    try:
        earliest = values.parse_datetime(
            page.get("earliestDateAvailable") if isinstance(page, Mapping) else None,
            "earliestDateAvailable",
        )
    except MappingError:
        return False
    return earliest is not None and earliest > since


def ids_of(page: Any) -> list[str]:
    """Ids of a ``getDeleted`` answer or of a ``queryAll`` page."""
    if not isinstance(page, Mapping):
        return []
    if "deletedRecords" in page:
        rows = page.get("deletedRecords") or []
        return [str(r["id"]) for r in rows if isinstance(r, Mapping) and r.get("id")]
    rows = page.get("records") or []
    return [str(r["Id"]) for r in rows if isinstance(r, Mapping) and r.get("Id")]
