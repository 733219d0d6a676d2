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

This module holds the portal's state and its routes; what it answers is in :mod:`.reads`,
its token checks, limits and OAuth refresh in :mod:`.auth` (with :mod:`.limits`).

Run alone: ``python -m connectors.hubspot.simulator --port 8765 --seed 1 --deals 1000``.
"""

from __future__ import annotations

import json
from collections import deque
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route

from connectors.hubspot import settings
from connectors.hubspot.simulator import account as _account
from connectors.hubspot.simulator import edits as _simedits
from connectors.hubspot.simulator import prospects as _prospects
from connectors.hubspot.simulator import render as _render
from connectors.hubspot.simulator.auth import ACCESS_TOKEN, PortalAuth
from connectors.hubspot.simulator.errors import renderer
from connectors.hubspot.simulator.reads import PortalReads
from connectors.hubspot.simulator.responses import _METHODS, _without_trailing_slash
from connectors.hubspot.simulator.store import ObjectStore
from core.simulation.dataset import Dataset, generate
from core.simulation.observe import observed

DAILY_LIMIT = 1_000_000
#: Associated objects of one type a read returns per object before paging them.
ASSOCIATION_PAGE = 100
_MODIFIED = {"contacts": settings.CONTACTS.modified_property}


class HubSpotSimulator(PortalAuth, PortalReads):
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
