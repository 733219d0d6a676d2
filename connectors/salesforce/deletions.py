"""Where a stream learns about deleted rows: ``getDeleted`` or ``queryAll`` on ``IsDeleted``.

An incremental window that starts within ``settings.GET_DELETED_RETENTION`` asks
``GET /sobjects/{type}/deleted/?start=&end=``: one call, every deletion of the window,
including rows already purged from the recycle bin. Older windows, and full reads (no
window), ask ``queryAll ... WHERE IsDeleted = true`` (what the recycle bin still holds).
When ``getDeleted`` answers that its log starts after the window (``earliestDateAvailable``,
the log can be purged early), the same window is read again through ``queryAll``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce import settings, soql, values
from connectors.salesforce.paths import ApiPaths
from core.sync.connector import MappingError, Request


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


def first_request(
    api: ApiPaths, sobject: str, since: datetime | None, now: datetime | None
) -> Request:
    """``getDeleted`` for a window young enough, ``queryAll`` otherwise."""
    now = now or datetime.now(UTC)
    if since is None or now - since >= settings.GET_DELETED_RETENTION:
        return query_all(api, sobject, since)
    return Request(
        path=api.data(f"/sobjects/{sobject}/deleted/"),
        params={"start": _log_time(since), "end": _log_time(now)},
    )


def is_log_page(page: Any) -> bool:
    return isinstance(page, Mapping) and "deletedRecords" in page


def after_log(
    api: ApiPaths, sobject: str, page: Mapping[str, Any], since: datetime
) -> Request | None:
    """None when the log covered the window; else the window again through ``queryAll``."""
    try:
        earliest = values.parse_datetime(page.get("earliestDateAvailable"), "earliestDateAvailable")
    except MappingError:
        earliest = None
    if earliest is not None and earliest > since:
        return query_all(api, sobject, since)
    return None


def deleted_ids(page: Any) -> list[str]:
    """Ids of a ``getDeleted`` answer or of a ``queryAll`` page."""
    if not isinstance(page, Mapping):
        return []
    if is_log_page(page):
        rows = page.get("deletedRecords") or []
        return [str(r["id"]) for r in rows if isinstance(r, Mapping) and r.get("id")]
    rows = page.get("records") or []
    return [str(r["Id"]) for r in rows if isinstance(r, Mapping) and r.get("Id")]
