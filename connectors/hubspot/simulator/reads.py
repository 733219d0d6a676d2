"""What the HubSpot simulator reads out: owners, pipelines, exchange rates, the company
currency, property definitions, object lists (``after`` paging, ``archived``,
``associations``, ``propertiesWithHistory``), search, and v4 association and object batch
reads (a mixin of HubSpotSimulator, whose rendered portal it serves: ``stores``,
``owners``, ``pipelines``, ``rates``)."""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.hubspot import settings
from connectors.hubspot.simulator import account as _account
from connectors.hubspot.simulator import batch as _simbatch
from connectors.hubspot.simulator import properties as _properties
from connectors.hubspot.simulator import render as _render
from connectors.hubspot.simulator.errors import error_body
from connectors.hubspot.simulator.responses import (
    _flag,
    _json,
    _limit,
    _missing_scopes,
    _not_found,
    _offset_page,
    _page,
)
from connectors.hubspot.simulator.search import SearchError, run_search
from connectors.hubspot.simulator.store import ObjectStore
from core.simulation import paging as _paging
from core.simulation.dataset import Dataset


class PortalReads:
    data: Dataset
    account: str
    association_page: int
    stores: dict[str, ObjectStore]
    owners: list[bytes]
    pipelines: bytes
    rates: list[bytes]

    async def list_owners(self, request: Request) -> Response:
        if _flag(request.query_params.get("archived")):
            return _json(b'{"results":[]}')
        return _offset_page(request, self.owners, default=100, maximum=500)

    async def list_rates(self, request: Request) -> Response:
        return _offset_page(request, self.rates, default=10, maximum=100)

    async def list_pipelines(self, request: Request) -> Response:
        return _json(self.pipelines)

    def _object_store(self, object_type: str) -> ObjectStore | Response:
        """The store of ``object_type``, or the answer of a portal that cannot read it."""
        leads = object_type == "leads" and _account.has_leads(self.account)
        if leads and not _account.leads_readable(self.account):
            return _missing_scopes("crm.objects.leads.read")
        store = self.stores.get(object_type)
        return _not_found(object_type) if store is None else store

    def _unknown_type(self, *object_types: str) -> Response | None:
        """A 400 naming the first of ``object_types`` this portal does not have."""
        for name in object_types:
            found = self._object_store(name)
            if isinstance(found, Response):
                if found.status_code == 403:
                    return found
                message = f"Unable to infer object type from: {name}"
                return JSONResponse(error_body(message, "VALIDATION_ERROR"), status_code=400)
        return None

    async def list_objects(self, request: Request) -> Response:
        store = self._object_store(request.path_params["object_type"])
        if isinstance(store, Response):
            return store
        params = request.query_params
        wanted = _properties.requested(params.getlist("properties") or None)
        # associated types the portal does not have are ignored, as documented
        asked = _properties.requested(params.getlist("associations") or None) or ()
        types = tuple(t for t in asked if t in self.stores)
        archived = _flag(params.get("archived"))
        records, ids = (
            (store.archived, store.archived_ids) if archived else (store.live, store.live_ids)
        )
        history = list(_properties.requested(params.getlist("propertiesWithHistory")) or ())
        maximum = settings.HISTORY_PAGE_SIZE if history else settings.LIST_PAGE_SIZE
        limit = _limit(request, default=10, maximum=maximum)
        if history and int(params.get("limit") or 0) > maximum:
            message = f"limit must be at most {maximum} when propertiesWithHistory is requested"
            return JSONResponse(error_body(message, "VALIDATION_ERROR"), status_code=400)
        after = params.get("after")
        found = _paging.page(records, bisect.bisect_left(ids, int(after)) if after else 0, limit)
        chunk = found.items
        if types:
            page = self.association_page
            rendered = [store.with_associations(r, page, wanted, types) for r in chunk]
        else:
            rendered = [store.plain(r, wanted) for r in chunk]
        if history:
            rendered = [
                _simbatch.with_history(b, r, history) for b, r in zip(rendered, chunk, strict=True)
            ]
        nxt = None if found.next is None else str(records[found.next].id)
        return _json(_page(rendered, nxt))

    async def search(self, request: Request) -> Response:
        store = self._object_store(request.path_params["object_type"])
        if isinstance(store, Response):
            return store
        try:
            query = await request.json()
            total, chunk, nxt = run_search(store.index, query)
            raw = query.get("properties")
            wanted = _properties.requested(raw) if isinstance(raw, list) and raw else None
        except (SearchError, ValueError, AttributeError, TypeError) as exc:
            return JSONResponse(error_body(str(exc), "VALIDATION_ERROR"), status_code=400)
        body = _page([store.plain(r, wanted) for r in chunk], nxt)
        return _json(b'{"total":%d,' % total + body[1:])

    async def batch_associations(self, request: Request) -> Response:
        from_type = request.path_params["from_type"]
        to_type = request.path_params["to_type"]
        refused = self._unknown_type(from_type, to_type)
        if refused is not None:
            return refused
        from_store = self.stores.get(from_type)
        if from_store is None or to_type not in self.stores:
            return _not_found(f"{from_type} -> {to_type}")
        return await self._batch(
            request,
            lambda body: _simbatch.associations(
                from_store.by_id, from_type, to_type, body, self.association_page
            ),
        )

    async def batch_read(self, request: Request) -> Response:
        object_type = request.path_params["object_type"]
        store = self._object_store(object_type)
        if isinstance(store, Response):
            return store
        archived = _flag(request.query_params.get("archived"))
        return await self._batch(
            request,
            lambda body: _simbatch.objects(
                store.by_id, object_type, body, store.body, archived=archived
            ),
        )

    async def list_properties(self, request: Request) -> Response:
        store = self._object_store(request.path_params["object_type"])
        if isinstance(store, Response):
            return store
        return JSONResponse({"results": _properties.describe(store.name, store.known)})

    async def company_currency(self, request: Request) -> Response:
        created = _render.iso(self.data.anchor.replace(year=self.data.anchor.year - 10))
        return JSONResponse({"id": self.data.currency, "createdAt": created})

    async def unknown_route(self, request: Request) -> Response:
        message = f"No route found for {request.method} {request.url.path}"
        return JSONResponse(error_body(message, "OBJECT_NOT_FOUND"), status_code=404)

    async def _batch(
        self, request: Request, answer: Callable[[Any], tuple[int, dict[str, Any]]]
    ) -> Response:
        try:
            status, body = answer(json.loads(await request.body() or b"null"))
        except (ValueError, KeyError, TypeError) as exc:
            return JSONResponse(error_body(str(exc), "VALIDATION_ERROR"), status_code=400)
        return JSONResponse(body, status_code=status)
