"""The HubSpot simulator's door: bearer tokens checked on every route (HubSpot's 401
body), the rate limits applied (:mod:`.limits`) with their headers on every answer but
search's, and the OAuth refresh grant that hands out new access tokens (a mixin of
HubSpotSimulator)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from connectors.hubspot.simulator.errors import error_body
from connectors.hubspot.simulator.limits import RateLimits

ACCESS_TOKEN = "sim-hubspot-private-app-token"  # noqa: S105 (the simulator's public token)
REFRESH_TOKEN = "sim-hubspot-refresh-token"  # noqa: S105
CLIENT_ID = "sim-client-id"
CLIENT_SECRET = "sim-client-secret"  # noqa: S105


class PortalAuth(RateLimits):
    tokens: set[str]
    requests: int

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
