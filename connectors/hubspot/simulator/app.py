"""A HubSpot CRM v3 simulator (ASGI) serving the shared seeded business.

It answers what the connector reads, in HubSpot's shapes: object lists paged with
``after`` (``archived``, ``associations``), search with filters, one sort, ``limit`` up to
200 and the 10,000-result cap (400 past it), v4 association batch reads and object batch
reads (:mod:`._simbatch`: associations paged per object, ``propertiesWithHistory`` at most
50 records a read), merges (:mod:`._simedits`), deal pipelines, owners, the OAuth refresh,
401/400/429 error bodies and the ``X-HubSpot-RateLimit-*`` headers, with optional rate
limits of its own (per 10 s, and per second for search).

It is fast by construction: each object's JSON is rendered once (with and without its
associations) and pages are byte slices joined together. Change the business through
``simulator.data`` (``edit_deals``, ``delete``), then call :meth:`HubSpotSimulator.refresh`;
``associate`` and ``merge`` change the rendered portal and survive refreshes.

Run alone: ``python -m connectors.hubspot.simulator --port 8765 --seed 1 --deals 1000``.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.hubspot import settings
from connectors.hubspot.simulator import account as _account
from connectors.hubspot.simulator import batch as _simbatch
from connectors.hubspot.simulator import edits as _simedits
from connectors.hubspot.simulator import properties as _properties
from connectors.hubspot.simulator import prospects as _prospects
from connectors.hubspot.simulator import render as _render
from connectors.hubspot.simulator.errors import error_body, renderer
from connectors.hubspot.simulator.limits import RateLimits
from connectors.hubspot.simulator.responses import (
    _METHODS,
    _flag,
    _json,
    _limit,
    _missing_scopes,
    _not_found,
    _offset_page,
    _page,
    _without_trailing_slash,
)
from connectors.hubspot.simulator.search import SearchError, run_search
from connectors.hubspot.simulator.store import ObjectStore
from core.simulation import paging as _paging
from core.simulation.dataset import Dataset, generate
from core.simulation.observe import observed

ACCESS_TOKEN = "sim-hubspot-private-app-token"  # noqa: S105 (the simulator's public token)
REFRESH_TOKEN = "sim-hubspot-refresh-token"  # noqa: S105
CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"  # noqa: S105
DAILY_LIMIT = 1_000_000
#: Associated objects of one type a read returns per object before paging them.
ASSOCIATION_PAGE = 100
_MODIFIED = {"contacts": settings.CONTACTS.modified_property}


class HubSpotSimulator(RateLimits):
    """The simulated portal. ``rate_limit``: requests per 10 s; ``search_rate``: search
    requests per second; ``daily_limit``: requests per day (429 ``DAILY`` beyond it);
    ``association_page``: associated objects per object in one page (lists and v4 reads)."""

    def __init__(
        self,
        data: Dataset,
        *,
        rate_limit: int | None = None,
        search_rate: int | None = None,
        daily_limit: int = DAILY_LIMIT,
        association_page: int = ASSOCIATION_PAGE,
        account: str = _account.FULL,
    ) -> None:
        self.data = data
        #: The account variant (see :mod:`.account`): minimal, standard or full.
        self.account = str(account)
        self.rate_limit = rate_limit
        self.search_rate = search_rate
        self.daily_limit = daily_limit
        #: Requests counted against the day (answered, or refused by a window limit).
        self.daily_used = 0
        #: 429s answered, by policy name (SECONDLY, TEN_SECONDLY_ROLLING, DAILY).
        self.throttled: dict[str, int] = {}
        #: Search requests received (throttled ones included).
        self.searches = 0
        self.association_page = association_page
        self.tokens = {ACCESS_TOKEN}
        self.requests = 0
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self.stores: dict[str, ObjectStore] = {}
        self.owners: list[bytes] = []
        self.pipelines = b""
        self.rates: list[bytes] = []
        self.edits: list[_simedits.Edit] = []
        self.refresh()
        router = Starlette(routes=self._routes())
        # No 307 to the slash-less path: HubSpot serves ``/crm/v3/owners/`` (the official
        # client's spelling) as ``/crm/v3/owners``; anything else unknown is a JSON 404.
        router.router.redirect_slashes = False
        router.state.simulator = self
        self.app: Any = observed("hubspot", _without_trailing_slash(router))

    def associate(self, from_type: str, from_id: int, to_type: str, to_ids: list[int]) -> None:
        """Associate one more object with ``to_ids`` (unlabeled; kept across refreshes)."""
        self.edits.append(_simedits.Association(from_type, from_id, to_type, tuple(to_ids)))
        self.refresh()

    def merge(self, object_type: str, keep_id: int, merged_id: int, at: datetime) -> None:
        """Merge ``merged_id`` into ``keep_id`` at ``at``, as HubSpot does (see _simedits)."""
        self.edits.append(_simedits.Merge(object_type, keep_id, merged_id, at))
        self.refresh()

    def refresh(self) -> None:
        """Re-render everything from ``self.data`` (after edits or deletions)."""
        objects = _render.render(self.data)
        if not _account.leads_readable(self.account):
            # each Lead record's contact at lifecycle lead (see .prospects) is all it sees
            objects["contacts"] += _prospects.prospects(self.data)
            _prospects.link_activities(objects, self.data)
        _simedits.apply(objects, self.edits)
        _account.shape(objects, self.account)
        self.stores = {
            name: ObjectStore(name, items, _MODIFIED.get(name, "hs_lastmodifieddate"))
            for name, items in objects.items()
        }
        self.owners = [json.dumps(_render.owner(u, self.data)).encode() for u in self.data.users]
        pipelines = [_render.pipeline(p, self.data) for p in self.data.pipelines]
        self.pipelines = json.dumps({"results": pipelines}).encode()
        rates = _render.exchange_rates(self.data) if _account.multi_currency(self.account) else []
        self.rates = [json.dumps(r).encode() for r in rates]

    def _routes(self) -> list[Route]:
        return [
            Route("/oauth/v1/token", self.token, methods=["POST"]),
            Route("/crm/v3/owners", self._guard(self.list_owners), methods=["GET"]),
            Route(
                "/crm/v3/properties/{object_type}",
                self._guard(self.list_properties),
                methods=["GET"],
            ),
            Route(settings.COMPANY_CURRENCY_PATH, self._guard(self.company_currency)),
            Route("/crm/v3/pipelines/deals", self._guard(self.list_pipelines), methods=["GET"]),
            Route(settings.EXCHANGE_RATES_PATH, self._guard(self.list_rates), methods=["GET"]),
            Route(
                "/crm/v3/objects/{object_type}/search",
                self._guard(self.search, search=True),
                methods=["POST"],
            ),
            Route(
                "/crm/v3/objects/{object_type}/batch/read",
                self._guard(self.batch_read),
                methods=["POST"],
            ),
            Route("/crm/v3/objects/{object_type}", self._guard(self.list_objects), methods=["GET"]),
            Route(
                "/crm/v4/associations/{from_type}/{to_type}/batch/read",
                self._guard(self.batch_associations),
                methods=["POST"],
            ),
            Route("/{path:path}", self._guard(self.unknown_route), methods=list(_METHODS)),
        ]

    # -- authentication and limits -------------------------------------------------------

    def _guard(
        self, handler: Callable[[Request], Any], *, search: bool = False
    ) -> Callable[[Request], Any]:
        async def guarded(request: Request) -> Response:
            self.requests += 1
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
                body = error_body(
                    "Authentication credentials not found. This API supports OAuth 2.0 "
                    "authentication and you can find more details at "
                    "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                    "INVALID_AUTHENTICATION",
                )
                return JSONResponse(body, status_code=401)
            limited = self._limited(search)
            if limited is not None:
                return limited
            response: Response = await handler(request)
            if not search:  # search responses carry no rate-limit headers
                response.headers.update(self._headers())
            return response

        return guarded

    async def token(self, request: Request) -> Response:
        form = await request.form()
        valid = (
            form.get("grant_type") == "refresh_token"
            and form.get("refresh_token") == REFRESH_TOKEN
            and form.get("client_id") == CLIENT_ID
            and form.get("client_secret") == CLIENT_SECRET
        )
        if not valid:
            # The observed answer's status and the published spec's Error fields, both.
            refused = error_body("missing or unknown refresh token", "BAD_REFRESH_TOKEN")
            refused["status"] = "BAD_REFRESH_TOKEN"
            return JSONResponse(refused, status_code=400)
        token = f"sim-oauth-{uuid.uuid4()}"
        self.tokens.add(token)
        body: dict[str, Any] = {
            "token_type": "bearer",
            "refresh_token": REFRESH_TOKEN,
            "access_token": token,
            "expires_in": 1800,
        }
        return JSONResponse(body)

    # -- reads ---------------------------------------------------------------------------

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


def create_simulator(
    *, seed: int = 1, deals: int = 1000, data: Dataset | None = None, **options: Any
) -> HubSpotSimulator:
    return HubSpotSimulator(data or generate(seed=seed, deals=deals), **options)


def create_app(
    *,
    seed: int = 1,
    deals: int = 1000,
    faults: str | None = None,
    simulator: HubSpotSimulator | None = None,
    account: str = _account.FULL,
    rate_limit: bool = False,
) -> Any:
    """The simulator's ASGI app wrapped in the fault middleware of ``faults``.

    ``rate_limit`` enforces HubSpot's documented limits (100 requests per 10 s, 5 searches
    a second) with its own 429 bodies and headers."""
    from core.simulation.faults import FaultMiddleware

    limits: dict[str, Any] = {}
    if rate_limit:
        limits = {
            "rate_limit": settings.RATE_LIMIT_REQUESTS,
            "search_rate": settings.SEARCH_REQUESTS_PER_SECOND,
        }
    sim = simulator or create_simulator(seed=seed, deals=deals, account=account, **limits)
    return FaultMiddleware(sim.app, faults, error=renderer(sim.exhausted), crm="hubspot")


def main() -> None:  # pragma: no cover - a manual entry point
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description="HubSpot CRM v3 simulator")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deals", type=int, default=1000)
    parser.add_argument("--account", choices=_account.ACCOUNTS, default=_account.FULL)
    parser.add_argument("--rate-limit", action="store_true")
    args = parser.parse_args()
    print(f"base URL: http://127.0.0.1:{args.port}  access_token={ACCESS_TOKEN}")
    app = create_app(
        seed=args.seed, deals=args.deals, account=args.account, rate_limit=args.rate_limit
    )
    uvicorn.run(app, port=args.port, log_level="warning")
