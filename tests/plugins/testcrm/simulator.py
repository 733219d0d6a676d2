"""The test CRM served over HTTP: bearer tokens from ``/oauth/token``, cursor paging,
``updated_since`` filters, a deletions listing and rate-limit headers.

``GET /v1/<kind>?limit=&after=&updated_since=`` -> ``{"results": [...], "next": "<after>"}``
``GET /v1/deleted/<kind>?since=``                 -> ``{"results": [{"id", "deleted_at"}]}``
``GET /v1/pipelines``, ``GET /v1/fx``               -> ``{"results": [...]}``
``GET /v1/forecasts``                             -> ``{"results": [...]}``, or 403
  ``{"error": "forecasts are not enabled on this plan"}`` on an account without them
``POST /oauth/token {"refresh_token"}``          -> ``{"access_token", "expires_in"}``
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.simulation.faults import FaultMiddleware
from tests.plugins.testcrm.dataset import FX, KINDS, PIPELINES, Dataset

REFRESH_TOKEN = "test-refresh-token"
#: What /v1/forecasts lists (the test CRM reads them but stores nothing).
FORECASTS = [{"id": "f1", "quarter": "2026-Q1", "amount": "1000"}]
MAX_LIMIT = 1000


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class Simulator:
    """The dataset, the issued tokens, and request counters tests can look at."""

    def __init__(self, dataset: Dataset) -> None:
        self.data = dataset
        self._serial = itertools.count(1)
        self.valid_tokens: set[str] = set()
        self.token_requests = 0
        self.requests = 0
        #: Requests per path (after authentication).
        self.calls: Counter[str] = Counter()
        #: Raw records returned instead of the generated ones (malformed-record tests).
        self.overrides: dict[str, dict[str, Any]] = {}
        #: False: an account without the optional forecasts (answers 403, as on a plan
        #: that lacks them).
        self.forecasts = True
        #: Paths that answer 400 with an error message (a stream failing for good).
        self.broken: dict[str, str] = {}

    def expire_tokens(self) -> None:
        self.valid_tokens.clear()

    async def token(self, request: Request) -> Response:
        body = await request.json()
        if body.get("refresh_token") != REFRESH_TOKEN:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        self.token_requests += 1
        token = f"tok-{next(self._serial)}"
        self.valid_tokens.add(token)
        return JSONResponse({"access_token": token, "expires_in": 3600})

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.valid_tokens

    async def listing(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorized(request):
            return JSONResponse({"error": "expired token"}, status_code=401)
        if request.url.path in self.broken:
            return JSONResponse({"error": self.broken[request.url.path]}, status_code=400)
        kind = request.path_params["kind"]
        if kind not in KINDS:
            return JSONResponse({"error": f"unknown kind {kind}"}, status_code=404)
        params = request.query_params
        limit = min(int(params.get("limit", "100")), MAX_LIMIT)
        after = params.get("after")
        since = params.get("updated_since")
        items, nxt = self.data.page(
            kind,
            None if after is None else int(after),
            limit,
            datetime.fromisoformat(since) if since else None,
        )
        parts = []
        for item in items:
            if isinstance(item, int):
                override = self.overrides.get(f"{kind[0]}{item}")
                parts.append(self.data.encoded(kind, item) if override is None else _json(override))
            else:
                parts.append(_json(self.overrides.get(item["id"], item)))
        body = b'{"results":[' + b",".join(parts) + b"]"
        if nxt is not None:
            body += b',"next":"' + str(nxt).encode() + b'"'
        return Response(
            body + b"}",
            media_type="application/json",
            headers={"x-ratelimit-remaining": "1000"},
        )

    async def deleted(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorized(request):
            return JSONResponse({"error": "expired token"}, status_code=401)
        since = request.query_params.get("since")
        rows = list(
            self.data.deletions(
                request.path_params["kind"], datetime.fromisoformat(since) if since else None
            )
        )
        return JSONResponse({"results": rows})

    async def static(self, request: Request) -> Response:
        self.requests += 1
        if not self._authorized(request):
            return JSONResponse({"error": "expired token"}, status_code=401)
        self.calls[request.url.path] += 1
        if request.url.path in self.broken:
            return JSONResponse({"error": self.broken[request.url.path]}, status_code=400)
        name = request.url.path.rsplit("/", 1)[-1]
        if name == "forecasts":
            if not self.forecasts:
                return JSONResponse(
                    {"error": "forecasts are not enabled on this plan"}, status_code=403
                )
            return JSONResponse({"results": FORECASTS})
        return JSONResponse({"results": PIPELINES if name == "pipelines" else FX})

    def app(self, faults: str | None = None) -> Any:
        app = Starlette(
            routes=[
                Route("/oauth/token", self.token, methods=["POST"]),
                Route("/v1/pipelines", self.static),
                Route("/v1/fx", self.static),
                Route("/v1/forecasts", self.static),
                Route("/v1/deleted/{kind}", self.deleted),
                Route("/v1/{kind}", self.listing),
            ]
        )
        return FaultMiddleware(app, faults)
