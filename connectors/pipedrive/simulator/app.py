"""A Pipedrive-shaped ASGI app over the shared simulated business, for demos, end-to-end
tests and benchmarks.

It serves what the connector reads, in Pipedrive's documented shapes: v2 lists with opaque
``additional_data.next_cursor``, ``updated_since`` / ``updated_until``, ``sort_by`` and
the narrowing parameters (narrow.py); v1 lists with ``additional_data.pagination``;
custom fields under hash keys with their ``*Fields`` metadata; deleted deals under
``status=deleted``; per-deal flows; ``/v1/recents`` with the documented ``items`` only;
every v1 path under ``/v1/`` (the official clients' form) and ``/api/v1/``; Pipedrive's
error envelope (errors.py) for every failure, unknown routes included, and its
rate-limit headers (``x-ratelimit-limit/remaining/reset``, a 2-second burst window,
429 + ``Retry-After`` when ``burst_limit`` is exceeded, and past a ``daily_tokens``
budget); account variants (accounts.py); API token or OAuth bearer auth and a token
endpoint.

Every record is rendered to JSON bytes once (:meth:`PipedriveSimulator.refresh`, to be
called after changing the dataset); a page is a slice joined into the envelope, so the
simulator is far faster than any client.
"""

from __future__ import annotations

import json
import math
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from connectors.pipedrive.mapping import parse_time
from connectors.pipedrive.quota import DAILY_LEFT_HEADER, DAILY_LIMIT_HEADER
from connectors.pipedrive.simulator import narrow
from connectors.pipedrive.simulator.accounts import refusal
from connectors.pipedrive.simulator.deletions import with_deletions
from connectors.pipedrive.simulator.errors import (
    ApiError,
    error_response,
    not_allowed,
    not_found,
    render_fault,
)
from connectors.pipedrive.simulator.narrow import RECENT_ITEMS
from connectors.pipedrive.simulator.pages import (
    Table,
    dump,
    v1_all,
    v1_page,
    v2_page,
)
from connectors.pipedrive.simulator.tables import RenderedDataset
from core.simulation.credentials import basic_client
from core.simulation.dataset import Dataset, generate
from core.simulation.faults import FaultMiddleware
from core.simulation.observe import observed
from core.simulation.options import Account, SimulatorOptions
from core.simulation.paging import FixedWindow, decode_cursor
from core.sync.connector import MappingError

API_TOKEN = "sim-pipedrive-token"  # noqa: S105 (the simulator's documented test token)
CLIENT_ID = "sim-client"
CLIENT_SECRET = "sim-secret"  # noqa: S105
#: The burst limit of ``rate_limit=True``: an API token on the Professional plan, per
#: rolling 2-second window (Pipedrive's rate limiting reference).
API_TOKEN_BURST = 80


class PipedriveSimulator(RenderedDataset):
    """The dataset rendered once (:class:`RenderedDataset`); ``app`` serves it."""

    def __init__(
        self,
        dataset: Dataset,
        *,
        api_token: str = API_TOKEN,
        burst_limit: int | None = None,
        window_seconds: float = 2.0,
        daily_tokens: int | None = None,
        account: Account | str = Account.FULL,
        lead_field: bool = True,
        converted_leads_listed: bool | None = None,
    ):
        self.dataset = dataset
        self.account = Account(account)
        #: False plays an API that ignores include_fields=source_lead_id (the other
        #: reading of the docs): deals never carry the key.
        self.lead_field = lead_field
        #: Pipedrive marks a converted lead deleted (``convertLeadToDeal``): the full
        #: account drops them from the lists (readable by id), the others still list them.
        self.converted_leads_listed = (
            self.account is not Account.FULL
            if converted_leads_listed is None
            else converted_leads_listed
        )
        self.converted_leads_readable = True
        self.api_token = api_token
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = {"sim-refresh-token"}
        self.burst_limit = burst_limit
        self.window_seconds = window_seconds
        self.daily_tokens = daily_tokens
        self.tokens_used = 0
        self._burst = FixedWindow(window_seconds)
        self.requests = 0
        #: Requests answered 429 by the burst limit or the daily budget.
        self.throttled = 0
        #: Deal flow pages served (what the stage history costs).
        self.flow_reads = 0
        #: Leads read by id (``GET /v1/leads/{id}``).
        self.lead_reads = 0
        self._cache: dict[tuple[str, Any], tuple[Any, Any]] = {}
        self.refresh()
        routes = Starlette(
            routes=self._routes(), exception_handlers={404: not_found, 405: not_allowed}
        )
        routes.router.redirect_slashes = False
        routes.state.simulator = self
        #: The routes, seen by the installed observers (core.simulation.observe).
        self.app: Any = observed("pipedrive", routes)

    def asgi(self, faults: str | None = None) -> FaultMiddleware:
        """The app behind the shared fault injection (429s, 5xx, drops, latency), whose
        injected errors carry Pipedrive's envelope and rate-limit headers."""
        return FaultMiddleware(self.app, faults, error=render_fault, crm="pipedrive")

    # --- HTTP -------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        v2 = {
            "/api/v2/deals": self._deals,
            "/api/v2/deals/archived": lambda q: self._v2("deals", [self.archived_deals], q),
            "/api/v2/persons": lambda q: self._v2("persons", [self.persons], q),
            "/api/v2/organizations": lambda q: self._v2("organizations", [self.organizations], q),
            "/api/v2/activities": lambda q: self._v2("activities", [self.activities], q),
            "/api/v2/pipelines": lambda q: self._v2("pipelines", [self.pipelines], q),
            "/api/v2/stages": lambda q: self._v2("stages", [self.stages], q),
        }
        v1 = {
            "/users": lambda q: self._v1(self.small["users"], q, paged=False),
            "/legacyTeams": lambda q: self._v1(self.small["teams"], q, paged=False),
            "/leads": lambda q: self._leads(self.leads, q),
            "/leads/archived": lambda q: self._leads(self.archived_leads, q, archived=True),
            "/leadLabels": lambda q: self._v1(self.small["leadLabels"], q, paged=False),
            "/notes": lambda q: self._notes(q),
            "/recents": lambda q: self._recents(q),
            "/currencies": lambda q: self._v1(self.small["currencies"], q, paged=False),
            "/activityTypes": lambda q: self._v1(self.small["activityTypes"], q, paged=False),
        }
        for kind in ("dealFields", "personFields", "organizationFields"):
            v1[f"/{kind}"] = self._fields_handler(kind)
        routes = [Route(path, self._endpoint(handler)) for path, handler in v2.items()]
        flow = self._endpoint(self._flow, with_path=True)
        lead = self._endpoint(self._lead, with_path=True)
        # The official clients call ``https://api.pipedrive.com/v1/...`` (or the company
        # domain's): v1 is served under both ``/v1/`` and ``/api/v1/``.
        for prefix in ("/api/v1", "/v1"):
            routes.extend(Route(prefix + path, self._endpoint(h)) for path, h in v1.items())
            routes.append(Route(prefix + "/deals/{id}/flow", flow))
            routes.append(Route(prefix + "/leads/{id}", lead))
        routes.append(Route("/oauth/token", self._token, methods=["POST"]))
        return routes

    def _fields_handler(self, kind: str) -> Callable[[Any], bytes]:
        return lambda q: self._v1(self.small[kind], q, flat=True)

    def _endpoint(self, handler: Callable[..., bytes], *, with_path: bool = False) -> Any:
        async def endpoint(request: Request) -> Response:
            self.requests += 1
            headers = self._rate_headers(request.url.path)
            if headers.get("retry-after"):
                self.throttled += 1
                return _error(429, "Too Many Requests", headers)
            if not self._authorized(request):
                return _error(401, "unauthorized access", headers)
            refused = refusal(self.account, request.url.path)
            if refused is not None:
                return _error(refused[0], refused[1], headers)
            try:
                if with_path:
                    body = handler(request.query_params, request.path_params)
                else:
                    body = handler(request.query_params)
            except ApiError as exc:
                return _error(exc.status, exc.message, headers)
            return Response(body, media_type="application/json", headers=headers)

        return endpoint

    def _authorized(self, request: Request) -> bool:
        token = request.headers.get("x-api-token") or request.query_params.get("api_token")
        if token is not None:
            return secrets.compare_digest(token, self.api_token)
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and bearer in self.access_tokens

    def _rate_headers(self, path: str) -> dict[str, str]:
        """Pipedrive's burst headers over a rolling 2-second window, and the daily token
        budget: a list read costs 20 tokens on v1 and half that on v2 (Pipedrive prices
        v2 50% lower), reported by the daily token headers; past the budget every request
        gets 429 until midnight UTC."""
        now = time.monotonic()
        used = self._burst.hit(now)
        self.tokens_used += 10 if path.startswith("/api/v2/") else 20
        limit = self.burst_limit or 100_000
        reset = self._burst.reset_in(now)
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(reset),
        }
        if self.daily_tokens is not None:
            headers[DAILY_LIMIT_HEADER] = str(self.daily_tokens)
            headers[DAILY_LEFT_HEADER] = str(max(0, self.daily_tokens - self.tokens_used))
        if self.burst_limit is not None and used > self.burst_limit:
            headers["retry-after"] = str(reset)
        elif self.daily_tokens is not None and self.tokens_used > self.daily_tokens:
            midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            left = 86_400 - (datetime.now(UTC) - midnight).total_seconds()
            headers["retry-after"] = str(max(1, math.ceil(left)))
        return headers

    async def _token(self, request: Request) -> Response:
        form = await request.form()
        client = basic_client(request.headers.get("authorization", ""))
        refresh = str(form.get("refresh_token") or "")
        if client != (CLIENT_ID, CLIENT_SECRET) or refresh not in self.refresh_tokens:
            return Response(
                dump({"success": False, "message": "Invalid grant"}),
                status_code=401,
                media_type="application/json",
            )
        access = secrets.token_hex(16)
        self.access_tokens.add(access)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 3599,
            "refresh_token": refresh,
            "scope": "base,deals:read",
            "api_domain": str(request.base_url).rstrip("/"),
        }
        return Response(dump(body), media_type="application/json")

    # --- list endpoints ---------------------------------------------------------------

    def _deals(self, q: Any) -> bytes:
        asked = narrow.statuses(q)
        tables = [self.deals] if asked & {"open", "won", "lost"} else []
        if "deleted" in asked:
            tables.append(self.deleted_deals)
        return self._v2("deals", tables, q, deal_status=asked)

    def _v2(
        self,
        kind: str,
        tables: Sequence[Table],
        q: Any,
        *,
        deal_status: frozenset[str] = frozenset({"open", "won", "lost"}),
    ) -> bytes:
        limit = _limit(q, 100)
        sort_by = q.get("sort_by", "id")
        if sort_by not in ("id", "update_time", "add_time"):
            raise ApiError(400, f"Invalid sort_by: {sort_by}")
        direction = q.get("sort_direction", "asc")
        if direction not in ("asc", "desc"):
            raise ApiError(400, f"Invalid sort_direction: {direction}")
        included = narrow.includes(kind, q)
        filters = narrow.narrowing(kind, q)
        by_update = sort_by == "update_time"
        since, until = _since(q, "updated_since"), _since(q, "updated_until")
        selected = [t.select(since, until, by_update) for t in tables]
        whole = kind != "deals" or deal_status in (narrow.NOT_DELETED, frozenset({"deleted"}))
        if sort_by != "add_time" and direction == "asc" and len(selected) == 1 and whole:
            items: Sequence[bytes] = selected[0] if not filters else []
            if filters:
                items = narrow.narrow(kind, selected[0], filters, deal_status)
        else:
            merged = [raw for rows in selected for raw in rows]
            items = narrow.narrow(kind, merged, filters, deal_status)
            items = sorted(items, key=_sort_key(sort_by), reverse=direction == "desc")
        cursor = q.get("cursor")
        try:
            start = decode_cursor(cursor) if cursor else 0
        except ValueError as exc:
            raise ApiError(400, "Invalid cursor") from exc
        if kind == "deals" and ("source_lead_id" not in included or not self.lead_field):
            return v2_page(
                items, start, limit, lambda chunk: narrow.without(chunk, "source_lead_id")
            )
        return v2_page(items, start, limit)

    def _v1(
        self, items: Sequence[bytes], q: Any, *, paged: bool = True, flat: bool = False
    ) -> bytes:
        if not paged:
            return v1_all(items)
        try:
            start = int(q.get("start", 0))
        except ValueError as exc:
            raise ApiError(400, "start must be a number") from exc
        if start < 0:
            raise ApiError(400, "start must not be negative")
        return v1_page(items, start, _limit(q, 100), flat=flat)

    def _leads(self, table: Table, q: Any, *, archived: bool = False) -> bytes:
        """``/v1/leads`` (``updated_since``) and ``/v1/leads/archived`` (no such filter)."""
        sort = q.get("sort")
        if sort not in (None, "update_time ASC"):
            raise ApiError(400, f"sort {sort!r} is not supported by the simulator")
        since = None if archived else _since(q, "updated_since")
        return self._v1(table.select(since, None, sort is not None), q, flat=True)

    def _lead(self, q: Any, path: Any) -> bytes:
        """``GET /v1/leads/{id}``: a lead not deleted (converted included, if readable)."""
        self.lead_reads += 1
        body = self.lead_by_id.get(str(path["id"]))
        if body is None:
            raise ApiError(404, "Lead not found")
        return b'{"success":true,"data":' + body + b"}"

    def _notes(self, q: Any) -> bytes:
        sort = q.get("sort")
        if sort not in (None, "update_time ASC"):
            raise ApiError(400, f"sort {sort!r} is not supported by the simulator")
        return self._v1(self.notes.select(_since(q, "updated_since"), None, sort is not None), q)

    def _recents(self, q: Any) -> bytes:
        """``/v1/recents``: ``since_timestamp`` required, ``items`` one of the documented
        kinds (anything else, ``delete_log`` included, is refused as an invalid value).
        The simulator keeps no change feed: a valid request gets an empty list."""
        if "since_timestamp" not in q:
            raise ApiError(400, "Parameter 'since_timestamp' is required")
        asked = {v.strip() for v in str(q.get("items", "")).split(",") if v.strip()}
        unknown = asked - RECENT_ITEMS
        if unknown:
            raise ApiError(400, f"Invalid value of parameter 'items': {', '.join(sorted(unknown))}")
        _since(q, "since_timestamp")
        return self._v1([], q)

    def _flow(self, q: Any, path: dict[str, Any]) -> bytes:
        deal_id = str(path["id"])
        self.flow_reads += 1
        if deal_id not in self.deal_ids:
            raise ApiError(404, "Deal not found")
        items = self.flows.get(deal_id, [])
        if q.get("items") not in (None, "dealChange"):
            items = []
        return self._v1(items, q, flat=True)


def _error(status: int, message: str, headers: dict[str, str]) -> Response:
    return error_response(status, message, headers)


def _sort_key(sort_by: str) -> Any:
    def key(raw: bytes) -> tuple[Any, ...]:
        item = json.loads(raw)
        if sort_by == "id":
            return (item.get("id") or 0,)
        return (str(item.get(sort_by) or ""), item.get("id") or 0)

    return key


def _limit(q: Any, default: int) -> int:
    try:
        limit = int(q.get("limit", default))
    except ValueError as exc:
        raise ApiError(400, "limit must be a number") from exc
    if not 1 <= limit <= 500:
        raise ApiError(400, "limit must be between 1 and 500")
    return limit


def _since(q: Any, name: str) -> datetime | None:
    try:
        return parse_time(q.get(name), name)
    except MappingError as exc:
        raise ApiError(400, f"Invalid {name}") from exc


def create_app(options: SimulatorOptions | None = None, **legacy: Any) -> FaultMiddleware:
    """The simulator app of a freshly generated business (``crmkpi simulate pipedrive``),
    with some deletions (:func:`with_deletions`): ``options`` give the seed, size,
    account variant, faults (a FaultSpec string) and whether Pipedrive's burst limit is
    enforced (``API_TOKEN_BURST`` per 2 s)."""
    options = options or SimulatorOptions(**legacy)
    simulator = PipedriveSimulator(
        with_deletions(generate(seed=options.seed, deals=options.deals)),
        burst_limit=API_TOKEN_BURST if options.rate_limit else None,
        account=options.account,
    )
    return simulator.asgi(options.faults)
