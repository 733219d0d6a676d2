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
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.salesforce.simulator import soql
from connectors.salesforce.simulator.bulk import BulkJobs
from connectors.salesforce.simulator.processes import stage_values
from connectors.salesforce.simulator.render import render
from connectors.salesforce.simulator.tables import Table, stamp
from core.simulation.dataset import Dataset, generate
from core.simulation.faults import FaultMiddleware

CREDENTIALS = {
    "client_id": "3MVG9sim.client.id",
    "client_secret": "sim-client-secret",
    "refresh_token": "5Aep861sim.refresh.token",
}
VERSIONS = ("60.0", "62.0", "64.0", "65.0", "66.0", "67.0")
MAX_BATCH = 2000
_OPEN_LOCATORS = 64

Handler = Callable[[Request], Awaitable[Response]]


def _errors(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse([{"message": message, "errorCode": code}], status, headers=headers)


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
        multi_currency: bool = True,
        record_types: bool = False,
        daily_limit: int = 5_000_000,
        session_requests: int | None = None,
        batch_size: int = MAX_BATCH,
        faults: str | None = None,
    ) -> None:
        self.data = data
        _no_future_stamps(data)
        self.multi_currency = multi_currency
        self.record_types = record_types
        self.daily_limit = daily_limit
        self.session_requests = session_requests
        self.batch_size = batch_size
        self.faults = faults
        self.used = 0
        self.token_requests = 0
        self.get_deleted_calls = 0
        self.sessions: dict[str, int | None] = {}
        self.locators: OrderedDict[str, _Locator] = OrderedDict()
        self._ids = itertools.count(1)
        self.tables: dict[str, Table] = {}
        self.bulk = BulkJobs(lambda: self.tables)
        self.rerender()
        #: The org wrapped in the shared fault injection (429/5xx/drops/latency, ``--faults``).
        self.app = FaultMiddleware(Starlette(routes=self._routes()), faults)

    # -- state knobs ---------------------------------------------------------------------

    def rerender(self) -> None:
        self.tables = render(
            self.data,
            version=VERSIONS[-1],
            multi_currency=self.multi_currency,
            record_types=self.record_types,
        )
        for table in self.tables.values():
            table.rows.sort(key=lambda r: (r.get("SystemModstamp") or "", r["Id"]))
        self._json: dict[str, dict[str, str]] = {}
        self.locators.clear()

    def expire_sessions(self) -> None:
        """Every access token dies (session timeout): the next data call gets 401."""
        self.sessions.clear()

    def reset_usage(self) -> None:
        """A new day: the rolling 24 h allocation is free again."""
        self.used = 0

    # -- routing -------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        data = "/services/data/v{version}"
        return [
            Route("/services/oauth2/token", self.token, methods=["POST"]),
            Route("/services/data/", self.versions),
            Route(f"{data}/limits", self._data(self.limits)),
            Route(f"{data}/sobjects/", self._data(self.describe_global)),
            Route(f"{data}/sobjects/{{sobject}}/describe", self._data(self.describe)),
            Route(f"{data}/sobjects/{{sobject}}/deleted/", self._data(self.get_deleted)),
            Route(f"{data}/query", self._data(self.query)),
            Route(f"{data}/queryAll", self._data(self.query)),
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
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.token_requests += 1
        if form.get("grant_type") != "refresh_token":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                400,
            )
        if form.get("client_id") != CREDENTIALS["client_id"]:
            return JSONResponse(
                {"error": "invalid_client_id", "error_description": "client identifier invalid"},
                400,
            )
        if form.get("client_secret") != CREDENTIALS["client_secret"]:
            return JSONResponse(
                {"error": "invalid_client", "error_description": "invalid client credentials"},
                400,
            )
        if form.get("refresh_token") != CREDENTIALS["refresh_token"]:
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "expired access/refresh token"},
                400,
            )
        org = self.tables["Organization"].rows[0]["Id"]
        access = f"{org[:15]}!{secrets.token_urlsafe(24)}"
        self.sessions[access] = self.session_requests
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "access_token": access,
                "signature": secrets.token_urlsafe(16),
                "scope": "refresh_token api",
                "instance_url": base,
                "id": f"{base}/id/{org}/005Dn0000000000001",
                "token_type": "Bearer",
                "issued_at": "1764000000000",
            }
        )

    # -- REST resources ------------------------------------------------------------------

    async def versions(self, request: Request) -> Response:
        return JSONResponse(
            [{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS]
        )

    async def limits(self, request: Request) -> Response:
        return JSONResponse(
            {
                "DailyApiRequests": {
                    "Max": self.daily_limit,
                    "Remaining": self.daily_limit - self.used,
                },
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            }
        )

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
                ],
            }
        )

    async def picklist_values(self, request: Request) -> Response:
        return stage_values(self.tables, request)

    async def describe(self, request: Request) -> Response:
        table = self.tables.get(request.path_params["sobject"])
        if table is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        return JSONResponse(table.describe(request.path_params["version"]))

    async def get_deleted(self, request: Request) -> Response:
        self.get_deleted_calls += 1
        table = self.tables.get(request.path_params["sobject"])
        if table is None:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        start, end = request.query_params.get("start"), request.query_params.get("end")
        if not start or not end:
            return _errors(400, "MISSING_ARGUMENT", "start and end are required")
        lo, hi = (
            soql.literal_value(start, "datetime", "start"),
            soql.literal_value(end, "datetime", "end"),
        )
        deleted = [
            {"id": r["Id"], "deletedDate": r["SystemModstamp"]}
            for r in table.rows
            if r.get("IsDeleted") and lo <= r["SystemModstamp"] <= hi
        ]
        earliest = self.data.anchor - timedelta(days=15)
        return JSONResponse(
            {
                "deletedRecords": deleted,
                "earliestDateAvailable": stamp(earliest),
                "latestDateCovered": hi,
            }
        )

    async def query(self, request: Request) -> Response:
        text = request.query_params.get("q")
        if not text:
            return _errors(400, "MALFORMED_QUERY", "A query string has to be specified")
        parsed = soql.parse(text)
        include_deleted = request.url.path.endswith("/queryAll")
        rows = soql.run(parsed, self.tables, include_deleted=include_deleted)
        if parsed.count:
            return JSONResponse({"totalSize": len(rows), "done": True, "records": []})
        return self._page(request, _Locator(parsed, rows, self._batch(request)), None, 0)

    async def query_more(self, request: Request) -> Response:
        name, _, offset = request.path_params["locator"].rpartition("-")
        found = self.locators.get(name)
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
        end = offset + found.batch
        body: dict[str, Any] = {"totalSize": len(found.rows), "done": end >= len(found.rows)}
        if not body["done"]:
            if name is None:
                name = f"01gDn{next(self._ids):013d}"
                self.locators[name] = found
                while len(self.locators) > _OPEN_LOCATORS:
                    self.locators.popitem(last=False)
            resource = "queryAll" if "/queryAll" in request.url.path else "query"
            version = request.path_params["version"]
            body["nextRecordsUrl"] = f"/services/data/v{version}/{resource}/{name}-{end}"
        head = json.dumps(body, separators=(",", ":"))[:-1]
        records = ",".join(self._rendered(r, found.query) for r in found.rows[offset:end])
        return Response(f'{head},"records":[{records}]}}', media_type="application/json")

    def _rendered(self, row: dict[str, Any], query: soql.Query) -> str:
        """A row's JSON for this query's field list, memoised until the next ``rerender``
        (repeated syncs and benchmarks then measure the client, not the simulator)."""
        cache = self._json.setdefault(query.signature, {})
        text = cache.get(row["Id"])
        if text is None:
            text = cache[row["Id"]] = json.dumps(soql.project(row, query), separators=(",", ":"))
        return text


def _no_future_stamps(data: Dataset) -> None:
    """Salesforce never stamps a row after now. ``generate`` can leave an open deal's
    ``updated_at`` past the anchor (a stage move it then dropped): use its last real move."""
    for deal in data.deals:
        if deal.updated_at > data.anchor and deal.deleted_at is None:
            deal.updated_at = max(at for _, at in deal.history)


def create_simulator(
    *, seed: int = 1, deals: int = 1000, faults: str | None = None, **options: Any
) -> SalesforceSimulator:
    """A simulator over ``generate(seed=seed, deals=deals)``; ``options`` go to the class."""
    return SalesforceSimulator(generate(seed=seed, deals=deals), faults=faults, **options)
