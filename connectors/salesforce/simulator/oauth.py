"""The simulated org's OAuth token endpoint: the refresh-token grant as Salesforce answers it."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.simulation.credentials import basic_client

if TYPE_CHECKING:
    from connectors.salesforce.simulator.app import SalesforceSimulator

#: The credentials the simulated connected app accepts (``crmkpi simulate`` prints them).
CREDENTIALS = {
    "client_id": "3MVG9sim.client.id",
    "client_secret": "sim-client-secret",
    "refresh_token": "5Aep861sim.refresh.token",
}


async def token_answer(self: SalesforceSimulator, request: Request) -> Response:
    """The refresh-token grant. The client may authenticate in the form or with HTTP
    Basic (``client_id:client_secret``), as OAuth 2.0 allows; with rotation on, the
    answer carries a new refresh token and the one used stops working."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
    basic = basic_client(request.headers.get("authorization", ""))
    if basic is not None:
        form.setdefault("client_id", basic[0])
        form.setdefault("client_secret", basic[1])
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
    used = form.get("refresh_token")
    if used not in self.refresh_tokens:
        return JSONResponse(
            {"error": "invalid_grant", "error_description": "expired access/refresh token"},
            400,
        )
    org = self.tables["Organization"].rows[0]["Id"]
    access = f"{org[:15]}!{secrets.token_urlsafe(24)}"
    self.sessions[access] = self.session_requests
    base = str(request.base_url).rstrip("/")
    rotated: dict[str, str] = {}
    if self.rotate_refresh_tokens:
        self.refresh_tokens.discard(str(used))
        fresh = f"5Aep861{secrets.token_urlsafe(32)}"
        self.refresh_tokens.add(fresh)
        rotated = {"refresh_token": fresh}
    return JSONResponse(
        {
            **rotated,
            "access_token": access,
            "signature": secrets.token_urlsafe(16),
            "scope": "refresh_token api",
            "instance_url": base,
            "id": f"{base}/id/{org}/005Dn0000000000001",
            "token_type": "Bearer",
            "issued_at": "1764000000000",
        }
    )
