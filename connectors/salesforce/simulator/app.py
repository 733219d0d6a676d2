"""A simulated Salesforce org (ASGI) serving the shared seeded business.

It answers what the connector uses, in Salesforce's shapes: the OAuth token endpoint
(refresh-token grant; ``instance_url`` is the simulator itself), ``query``/``queryAll`` with
``nextRecordsUrl`` paging over a SOQL subset, ``describe`` and the global describe,
``getDeleted``, ``limits``, Bulk API 2.0 query jobs (CSV results, ``Sforce-Locator``),
``Sforce-Limit-Info`` on every data response, and the real error bodies
(``INVALID_SESSION_ID``, ``REQUEST_LIMIT_EXCEEDED``, ``INVALID_FIELD`` ...).
Knobs for tests: sessions that expire after N calls, a daily request allocation, a
single-currency org, an org with several sales processes (record types), the page size.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.salesforce.simulator import soql
from connectors.salesforce.simulator.accounts import OrgFeatures, features
from connectors.salesforce.simulator.bulk import BulkJobs
from connectors.salesforce.simulator.dataset import (
    delete_some,
    no_future_stamps,
    whole_seconds,
)
from connectors.salesforce.simulator.errors import NOT_FOUND, error_response, fault_renderer
from connectors.salesforce.simulator.oauth import CREDENTIALS, token_answer
from connectors.salesforce.simulator.processes import stage_values
from connectors.salesforce.simulator.render import render
from connectors.salesforce.simulator.tables import Table, stamp
from core.simulation.dataset import Dataset, generate
from core.simulation.faults import FaultMiddleware
from core.simulation.observe import observed
from core.simulation.paging import page

VERSIONS = ("60.0", "62.0", "64.0", "65.0", "66.0", "67.0")
MAX_BATCH = 2000
#: The daily API allocation of a Developer Edition org (``rate_limit``).
RATE_LIMITED_DAILY = 15_000
#: How far back ``getDeleted`` reaches (the REST guide's 15 days).
DELETE_LOG_DAYS = 15
_OPEN_LOCATORS = 64
_OPEN_CHILD_LOCATORS = 100_000

Handler = Callable[[Request], Awaitable[Response]]


_errors = error_response


@dataclass
class _Locator:
    query: soql.Query
    rows: list[dict[str, Any]]
    batch: int


class SalesforceSimulator:
    """One org. ``rerender()`` after changing ``data`` (``edit_deals``, ``delete``)."""

    def __init__(
        self,
        data: Dataset,
        *,
        account: str | None = None,
        multi_currency: bool | None = None,
        record_types: bool | None = None,
        daily_limit: int = 5_000_000,
        session_requests: int | None = None,
        batch_size: int = MAX_BATCH,
        history_batch: int | None = None,
        rotate_refresh_tokens: bool = False,
        rate_limit: bool = False,
        faults: str | None = None,
        timezone: str | None = None,
    ) -> None:
        self.data = data
        whole_seconds(data)
        no_future_stamps(data)
        #: What the org offers (``account`` variant, with explicit knobs over it).
        self.org: OrgFeatures = features(
            account, multi_currency=multi_currency, record_types=record_types, timezone=timezone
        )
        #: Child subquery rows per batch: a longer history answers ``done: false`` with its
        #: own ``nextRecordsUrl`` (Salesforce sizes child batches itself; tests force it).
        self.history_batch = history_batch
        #: Each refresh returns a new refresh token and retires the one used (rotation).
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.refresh_tokens = {CREDENTIALS["refresh_token"]}
        #: ``rate_limit``: a Developer Edition's allocation, answered with 403
        #: ``REQUEST_LIMIT_EXCEEDED`` once used (``crmkpi simulate --rate-limit``).
        self.daily_limit = min(daily_limit, RATE_LIMITED_DAILY) if rate_limit else daily_limit
        self.session_requests = session_requests
        self.batch_size = batch_size
        self.faults = faults
        self.used = 0
        self.token_requests = 0
        self.get_deleted_calls = 0
        self.sessions: dict[str, int | None] = {}
        self.locators: OrderedDict[str, _Locator] = OrderedDict()
        self.child_locators: OrderedDict[str, _Locator] = OrderedDict()
        self._ids = itertools.count(1)
        self.tables: dict[str, Table] = {}
        self.bulk = BulkJobs(lambda: self.tables, enabled=self.org.bulk_api)
        self.rerender()
        #: The org wrapped in the shared fault injection (429/5xx/drops/latency, ``--faults``).
        self.app = FaultMiddleware(
            observed("salesforce", self._starlette()),
            faults,
            error=fault_renderer(lambda: self._usage()),
            crm="salesforce",
        )

    # -- state knobs ---------------------------------------------------------------------

    def rerender(self) -> None:
        self.tables = render(self.data, version=VERSIONS[-1], org=self.org)
        for table in self.tables.values():
            table.rows.sort(key=lambda r: (r.get("SystemModstamp") or "", r["Id"]))
        self._json: dict[str, dict[str, str]] = {}
        self.locators.clear()
        self.child_locators.clear()

    def expire_sessions(self) -> None:
        """Every access token dies (session timeout): the next data call gets 401."""
        self.sessions.clear()

    def reset_usage(self) -> None:
        """A new day: the rolling 24 h allocation is free again."""
        self.used = 0

    # -- routing -------------------------------------------------------------------------

    def _starlette(self) -> Starlette:
        """The routes, with Salesforce's JSON error bodies for unknown paths and methods
        (never Starlette's text 404 or a trailing-slash redirect)."""

        async def not_found(request: Request, exc: Exception) -> Response:
            return _errors(404, *NOT_FOUND)

        async def not_allowed(request: Request, exc: Exception) -> Response:
            return _errors(405, "METHOD_NOT_ALLOWED", f"HTTP Method '{request.method}' not allowed")

        app = Starlette(
            routes=self._routes(), exception_handlers={404: not_found, 405: not_allowed}
        )
        app.router.redirect_slashes = False
        return app

    def _routes(self) -> list[Route]:
        data = "/services/data/v{version}"
        return [
            Route("/services/oauth2/token", self.token, methods=["POST"]),
            Route("/services/data/", self.versions),
            Route(f"{data}/limits", self._data(self.limits)),
            Route(f"{data}/sobjects/", self._data(self.describe_global)),
            Route(f"{data}/sobjects", self._data(self.describe_global)),
            Route(f"{data}/sobjects/{{sobject}}/describe", self._data(self.describe)),
            Route(f"{data}/sobjects/{{sobject}}/deleted/", self._data(self.get_deleted)),
            Route(f"{data}/sobjects/{{sobject}}/deleted", self._data(self.get_deleted)),
            Route(f"{data}/query", self._data(self.query)),
            Route(f"{data}/query/", self._data(self.query)),
            Route(f"{data}/queryAll", self._data(self.query)),
            Route(f"{data}/queryAll/", self._data(self.query)),
            Route(f"{data}/query/{{locator}}", self._data(self.query_more)),
            Route(f"{data}/queryAll/{{locator}}", self._data(self.query_more)),
            Route(
                f"{data}/ui-api/object-info/{{sobject}}/picklist-values/{{record_type}}/{{field}}",
                self._data(self.picklist_values),
            ),
            Route(f"{data}/jobs/query", self._data(self.bulk.create), methods=["POST"]),
            Route(f"{data}/jobs/query/{{job}}", self._data(self.bulk.status)),
            Route(f"{data}/jobs/query/{{job}}", self._data(self.bulk.delete), methods=["DELETE"]),
            Route(f"{data}/jobs/query/{{job}}/results", self._data(self.bulk.results)),
        ]

    def _data(self, handler: Handler) -> Handler:
        """Authentication, the daily allocation and ``Sforce-Limit-Info`` for data calls."""

        async def endpoint(request: Request) -> Response:
            if request.path_params["version"] not in VERSIONS:
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            header = request.headers.get("authorization", "")
            token = header.removeprefix("Bearer ").strip()
            if token not in self.sessions:
                return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
            left = self.sessions[token]
            if left is not None:
                if left <= 0:
                    del self.sessions[token]
                    return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
                self.sessions[token] = left - 1
            if self.used >= self.daily_limit:
                return _errors(
                    403,
                    "REQUEST_LIMIT_EXCEEDED",
                    "TotalRequests Limit exceeded.",
                    {"Sforce-Limit-Info": self._usage()},
                )
            self.used += 1
            try:
                response = await handler(request)
            except soql.SoqlError as exc:
                response = _errors(400, exc.code, exc.message)
            response.headers["Sforce-Limit-Info"] = self._usage()
            return response

        return endpoint

    def _usage(self) -> str:
        return f"api-usage={self.used}/{self.daily_limit}"

    # -- OAuth ---------------------------------------------------------------------------

    async def token(self, request: Request) -> Response:
        return await token_answer(self, request)

    # -- REST resources ------------------------------------------------------------------

    async def versions(self, request: Request) -> Response:
        return JSONResponse(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    async def limits(self, request: Request) -> Response:
        limits: dict[str, Any] = {
            "DailyApiRequests": {"Max": self.daily_limit, "Remaining": self.daily_limit - self.used}
        }
        if self.org.bulk_api:  # an org without Bulk API 2.0 lists no query-job allocation
            limits["DailyBulkV2QueryJobs"] = {"Max": 10000, "Remaining": 10000}
        return JSONResponse(limits)

    async def describe_global(self, request: Request) -> Response:
        version = request.path_params["version"]
        return JSONResponse(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [
                    {
                        k: v
                        for k, v in t.describe(version).items()
                        if k not in ("fields", "childRelationships")
                    }
                    for t in self.tables.values()
                    if t.queryable
                ],
            }
        )

    async def picklist_values(self, request: Request) -> Response:
        return stage_values(self.tables, request)

    async def describe(self, request: Request) -> Response:
        table = soql.find_table(self.tables, request.path_params["sobject"])
        if table is None or not table.queryable:
            return _errors(404, *NOT_FOUND)
        return JSONResponse(table.describe(request.path_params["version"]))

    async def get_deleted(self, request: Request) -> Response:
        """``GET /sobjects/{type}/deleted/?start=&end=``: the delete log of the last
        ``DELETE_LOG_DAYS`` days. As the real API, a start after the end or older than the
        log answers 400 ``INVALID_REPLICATION_DATE``; seconds are ignored (minutes count)."""
        self.get_deleted_calls += 1
        table = soql.find_table(self.tables, request.path_params["sobject"])
        if table is None or not table.queryable:
            return _errors(404, *NOT_FOUND)
        start, end = request.query_params.get("start"), request.query_params.get("end")
        if not start or not end:
            return _errors(400, "MISSING_ARGUMENT", "start and end are required")
        lo, hi = (
            soql.literal_value(start, "datetime", "start")[:16],
            soql.literal_value(end, "datetime", "end")[:16],
        )
        earliest = stamp(
            (datetime.now(UTC) - timedelta(days=DELETE_LOG_DAYS)).replace(second=0, microsecond=0)
        )
        if lo > hi:
            return _errors(
                400, "INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate"
            )
        if lo < earliest[:16]:
            return _errors(
                400,
                "INVALID_REPLICATION_DATE",
                f"startDate cannot be more than {DELETE_LOG_DAYS} days ago",
            )
        deleted = [
            {"id": r["Id"], "deletedDate": r["SystemModstamp"]}
            for r in table.rows
            if r.get("IsDeleted") and lo <= r["SystemModstamp"][:16] <= hi
        ]
        return JSONResponse(
            {
                "deletedRecords": deleted,
                "earliestDateAvailable": earliest,
                "latestDateCovered": hi + ":00.000+0000",
            }
        )

    async def query(self, request: Request) -> Response:
        text = request.query_params.get("q")
        if not text:
            return _errors(400, "MALFORMED_QUERY", "A query string has to be specified")
        parsed = soql.parse(text)
        include_deleted = request.url.path.rstrip("/").endswith("/queryAll")
        rows = soql.run(parsed, self.tables, include_deleted=include_deleted)
        if parsed.count:
            return JSONResponse({"totalSize": len(rows), "done": True, "records": []})
        return self._page(request, _Locator(parsed, rows, self._batch(request)), None, 0)

    async def query_more(self, request: Request) -> Response:
        name, _, offset = request.path_params["locator"].rpartition("-")
        found = self.locators.get(name) or self.child_locators.get(name)
        if found is None or not offset.isdigit():
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(request, found, name, int(offset))

    def _batch(self, request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        if options.startswith("batchSize="):
            value = options.removeprefix("batchSize=")
            if value.isdigit():
                return max(200, min(MAX_BATCH, int(value)))
        return self.batch_size

    def _page(self, request: Request, found: _Locator, name: str | None, offset: int) -> Response:
        batch = page(found.rows, offset, found.batch)
        body: dict[str, Any] = {"totalSize": len(found.rows), "done": batch.next is None}
        if batch.next is not None:
            if name is None:
                name = f"01gDn{next(self._ids):013d}"
                self.locators[name] = found
                while len(self.locators) > _OPEN_LOCATORS:
                    self.locators.popitem(last=False)
            resource = "queryAll" if "/queryAll" in request.url.path else "query"
            version = request.path_params["version"]
            body["nextRecordsUrl"] = f"/services/data/v{version}/{resource}/{name}-{batch.next}"
        head = json.dumps(body, separators=(",", ":"))[:-1]
        rows = batch.items
        if self.history_batch is not None and found.query.children:
            children = self._paged_children(request.path_params["version"])
            rendered = (json.dumps(soql.project(r, found.query, children)) for r in rows)
        else:
            rendered = (self._rendered(r, found.query) for r in rows)
        records = ",".join(rendered)
        return Response(f'{head},"records":[{records}]}}', media_type="application/json")

    def _paged_children(self, version: str) -> soql.ChildResult:
        """Child subquery results of at most ``history_batch`` rows: a longer one answers
        ``done: false`` and a ``nextRecordsUrl`` of its own, read with ``queryMore``."""
        batch = max(1, self.history_batch or MAX_BATCH)

        def result(child: soql.Query, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
            if not rows:
                return None
            first = page(rows, 0, batch)
            out: dict[str, Any] = {"totalSize": len(rows), "done": first.next is None}
            if first.next is not None:
                name = f"0r8Dn{next(self._ids):013d}"
                self.child_locators[name] = _Locator(child, rows, batch)
                while len(self.child_locators) > _OPEN_CHILD_LOCATORS:
                    self.child_locators.popitem(last=False)
                out["nextRecordsUrl"] = f"/services/data/v{version}/query/{name}-{first.next}"
            out["records"] = [soql.project(r, child) for r in first.items]
            return out

        return result

    def _rendered(self, row: dict[str, Any], query: soql.Query) -> str:
        """A row's JSON for this query's field list, memoised until the next ``rerender``
        (repeated syncs and benchmarks then measure the client, not the simulator)."""
        cache = self._json.setdefault(query.signature, {})
        text = cache.get(row["Id"])
        if text is None:
            text = cache[row["Id"]] = json.dumps(soql.project(row, query), separators=(",", ":"))
        return text


def create_simulator(
    *,
    seed: int = 1,
    deals: int = 1000,
    faults: str | None = None,
    deletions: bool = False,
    **options: Any,
) -> SalesforceSimulator:
    """A simulator over ``generate(seed=seed, deals=deals)``; ``options`` go to the class.
    With ``deletions`` some deals, contacts and activities sit in the recycle bin."""
    data = generate(seed=seed, deals=deals)
    if deletions:
        delete_some(data, seed)
    return SalesforceSimulator(data, faults=faults, **options)
