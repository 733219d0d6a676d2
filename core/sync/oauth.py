"""The OAuth 2.0 refresh-token grant (RFC 6749 section 6), written once for every connector.

``POST token_url`` with ``grant_type=refresh_token`` and the refresh token; the client
authenticates either with HTTP Basic (``client_id:client_secret``, RFC 6749 2.3.1's
preferred form; Pipedrive) or with both in the form (Salesforce's documented form). The
answer's JSON object is returned as it is: each connector reads its own extras
(Salesforce ``instance_url``, Pipedrive ``api_domain``/``expires_in``). A rotated
``refresh_token`` in the answer must be stored by the caller (``Auth.credentials``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from core.errors import CrmkpiError


class OAuthRefreshError(CrmkpiError):
    """The token endpoint refused the refresh, with the status and the OAuth error code."""

    def __init__(self, message: str, *, status: int, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


@dataclass(frozen=True, slots=True)
class RefreshedToken:
    access_token: str
    #: Set when the server rotated the refresh token: store it, the old one may be dead.
    refresh_token: str | None
    #: The whole answer, for the connector's own fields (``instance_url``, ``expires_in``).
    body: Mapping[str, Any]


async def refresh_grant(
    http: httpx.AsyncClient,
    token_url: str,
    *,
    client_id: str,
    client_secret: str,
    refresh_token: str,
    client_auth: Literal["basic", "form"] = "form",
    name: str = "OAuth",
) -> RefreshedToken:
    """Trade ``refresh_token`` for a new access token; OAuthRefreshError when refused.
    ``name`` prefixes messages (no secret is ever put in one)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    headers = {"Accept": "application/json"}
    if client_auth == "basic":
        response = await http.post(
            token_url, data=form, auth=(client_id, client_secret), headers=headers
        )
    else:
        form |= {"client_id": client_id, "client_secret": client_secret}
        response = await http.post(token_url, data=form, headers=headers)
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, Mapping):
        error = body.get("error") if isinstance(body, Mapping) else None
        detail = body.get("error_description") if isinstance(body, Mapping) else None
        raise OAuthRefreshError(
            f"{name} token refresh failed (HTTP {response.status_code}"
            f"{' ' + str(error)[:100] if error else ''}): "
            # The OAuth error fields only, never the raw body (core.egress: an answer is
            # not echoed to API callers).
            f"{str(detail)[:200] if detail else 'no error description'}",
            status=response.status_code,
            error=None if error is None else str(error),
        )
    token = body.get("access_token")
    if not token:
        raise OAuthRefreshError(
            f"{name} token response without access_token", status=response.status_code
        )
    rotated = body.get("refresh_token")
    return RefreshedToken(str(token), None if not rotated else str(rotated), body)
