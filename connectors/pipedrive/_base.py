"""The Pipedrive stream base: paginators, incremental parameters and the metadata reads
the streams share through the run state (_state.py).

Deletions are read by documented means only (docs/connectors/pipedrive.md): deals list
their deleted (``status=deleted``, 30 days) and archived ones; items a list returns with
``is_deleted`` / ``active_flag: false`` are mapped as deleted; every other deletion is
found by the reconciliation sweep of the scheduled full sync (the streams of persons,
organizations, activities, notes and leads do not set ``finds_deletions``, so the engine
soft-deletes the rows a complete full read did not see).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from connectors.pipedrive import mapping, settings
from connectors.pipedrive._state import run_state
from connectors.pipedrive.custom_fields import FieldCatalog
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connector import Cursor, HttpClient, MappingError, Request, Stream, StreamContext
from core.sync.pagination import BasePaginator, CursorPaginator
from core.sync.records import Record

V2_PAGINATOR = CursorPaginator(("additional_data", "next_cursor"), "cursor")


class V1Paginator(BasePaginator[int]):
    """v1 offset pages, in either documented shape: ``additional_data.pagination``
    (``start``, ``limit``, ``more_items_in_collection``, ``next_start``: the notes and
    users lists' model) or those keys straight under ``additional_data`` (the leads,
    field metadata and deal flow lists' model, without ``next_start``). The next start is
    ``next_start`` when given, else ``start + limit``: both readings are handled."""

    def next_token(self, page: Any) -> int | None:
        extra = page.get("additional_data") if isinstance(page, Mapping) else None
        if not isinstance(extra, Mapping):
            return None
        info = extra.get("pagination")
        if not isinstance(info, Mapping):
            info = extra
        if not info.get("more_items_in_collection"):
            return None
        if info.get("next_start") is not None:
            return int(info["next_start"])
        try:
            return int(info.get("start") or 0) + int(info["limit"])
        except (KeyError, TypeError, ValueError):
            return None

    def apply(self, request: Request, token: int) -> Request:
        return replace(request, params={**(request.params or {}), "start": token})


V1_PAGINATOR = V1Paginator()


def page_data(page: Any) -> list[Mapping[str, Any]]:
    """``data`` of a page; Pipedrive sends ``null`` rather than ``[]`` when empty."""
    data = page.get("data") if isinstance(page, Mapping) else None
    if isinstance(data, list):
        return data
    return []


def rfc3339_since(ctx: StreamContext) -> str | None:
    since = ctx.since()
    if since is None:
        return None
    return since.strftime("%Y-%m-%dT%H:%M:%SZ")


def since_params(ctx: StreamContext, **extra: Any) -> dict[str, Any]:
    """A list's ``limit`` and ``extra``, with ``updated_since`` when the run has a window."""
    params: dict[str, Any] = {"limit": settings.PAGE_SIZE, **extra}
    since = rfc3339_since(ctx)
    if since is not None:
        params["updated_since"] = since
    return params


def listed_ids(page: Any, record: type[Record]) -> list[tuple[type[Record], str]]:
    """Every item of a page listing deleted (or archived) records, as deletions."""
    return [(record, str(raw["id"])) for raw in page_data(page) if raw.get("id") is not None]


async def read_all(http: HttpClient, request: Request, paginator: BasePaginator[Any]) -> list[Any]:
    """Every item of a small metadata list (fields, labels, activity types)."""
    items: list[Any] = []
    current: Request | None = request
    while current is not None:
        page = await http.send(current)
        items.extend(page_data(page))
        current = paginator.next_request(page, current)
    return items


async def read_optional(http: HttpClient, request: Request) -> list[Any] | None:
    """Every item of an optional unpaged list (teams, activity types, lead labels), or
    None when the account does not offer it (``request.capability`` set: the connector
    classified the CRM's answer as "not on this account")."""
    try:
        return await read_all(http, request, V1_PAGINATOR)
    except CapabilityUnavailable:
        return None


async def field_catalog(http: HttpClient, ctx: StreamContext, kind: str) -> FieldCatalog:
    """The field catalog of ``kind``, read once per run."""
    state = run_state(ctx)
    if kind not in state.catalogs:
        path = settings.FIELD_ENDPOINTS[kind]
        items = await read_all(
            http, Request(path=path, params={"limit": settings.PAGE_SIZE}), V1_PAGINATOR
        )
        state.catalogs[kind] = FieldCatalog.from_metadata(items)
    return state.catalogs[kind]


def catalog_of(ctx: StreamContext, kind: str) -> FieldCatalog:
    """The catalog ``field_catalog`` read for ``kind`` earlier in this run (in prepare)."""
    return run_state(ctx).catalogs[kind]


class PipedriveStream(Stream):
    """A list endpoint: ``path`` with ``limit``; v2 by default."""

    path: ClassVar[str]
    paginator: ClassVar[BasePaginator[Any] | None] = V2_PAGINATOR
    #: Incremental reads sort by update time ascending (v2 ``sort_by=update_time``, v1
    #: ``sort=update_time ASC``), so the engine may commit the cursor with every page.
    cursor_ordered: ClassVar[bool] = True
    #: v2 filters by ``updated_since`` + ``sort_by``; v1 leads spell it differently.
    extra_params: ClassVar[Mapping[str, Any]] = {}

    #: One unpaged list whose endpoint takes no ``limit`` (users, teams).
    unpaged: ClassVar[bool] = False
    #: The optional capability the list is (``Request.capability``): an answer the
    #: connector classifies as "not on this account" skips the stream.
    capability: ClassVar[str | None] = None

    def first_request(self, ctx: StreamContext) -> Request:
        if self.unpaged:
            return Request(path=self.path, capability=self.capability)
        params: dict[str, Any] = {"limit": settings.PAGE_SIZE, **self.extra_params}
        if self.incremental:
            params.update(self.incremental_params(rfc3339_since(ctx)))
        return Request(path=self.path, params=params, capability=self.capability)

    def incremental_params(self, since: str | None) -> dict[str, Any]:
        """v2 lists sort with ``sort_by``/``sort_direction``, v1 lists with ``sort``."""
        params: dict[str, Any] = (
            {"sort": "update_time ASC"}
            if self.paginator is V1_PAGINATOR
            else {"sort_by": "update_time", "sort_direction": "asc"}
        )
        if since is not None:
            params["updated_since"] = since
        return params

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        return page_data(page)

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        if not self.incremental:
            return None
        try:
            updated = mapping.parse_time(raw.get("update_time"))
        except MappingError:
            return None
        return None if updated is None else Cursor(updated, str(raw.get("id", "")))
