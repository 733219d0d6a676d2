"""Authentication only: the engine owns the HTTP client, retries and rate limiting.

Two ways in (Pipedrive API docs, "Authentication"):

- an **API token** (per user and company, no expiry), sent as the ``x-api-token`` header
  (kept out of URLs, so it never lands in access logs);
- **OAuth 2.0**: ``Authorization: Bearer <access_token>``; refreshed with
  ``grant_type=refresh_token`` at the token URL with HTTP Basic ``client_id:client_secret``.
  The token response names the company's ``api_domain``, which becomes the base URL, and
  may rotate the refresh token, so new credentials go back to the engine to be stored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import httpx

from connectors.pipedrive.settings import OAUTH_TOKEN_URL
from core.sync.connector import Auth
from core.sync.oauth import OAuthRefreshError, refresh_grant

#: Refresh this long before ``expires_at`` so a token never expires in the middle of a page.
REFRESH_MARGIN_SECONDS = 120


class AuthError(RuntimeError):
    """The credentials are missing or were refused; the message is safe to show."""


async def authenticate(
    http: httpx.AsyncClient,
    credentials: Mapping[str, str],
    base_url: str,
    *,
    refresh: bool = False,
    now: float | None = None,
) -> Auth:
    """Headers (and, after an OAuth refresh, the base URL and new credentials)."""
    token = credentials.get("api_token")
    if token:
        return Auth(headers={"x-api-token": token})
    if not credentials.get("access_token") and not credentials.get("refresh_token"):
        raise AuthError("pipedrive: give api_token, or access_token/refresh_token (OAuth)")
    clock = time.time() if now is None else now
    expires_at = float(credentials.get("expires_at") or 0)
    expiring = bool(expires_at) and expires_at - REFRESH_MARGIN_SECONDS <= clock
    if refresh or expiring or not credentials.get("access_token"):
        return await _refresh(http, credentials, clock)
    domain = credentials.get("api_domain")
    return Auth(
        headers={"Authorization": f"Bearer {credentials['access_token']}"},
        base_url=domain or None,
    )


async def _refresh(http: httpx.AsyncClient, credentials: Mapping[str, str], now: float) -> Auth:
    for needed in ("refresh_token", "client_id", "client_secret"):
        if not credentials.get(needed):
            raise AuthError(f"pipedrive: cannot refresh the OAuth token without {needed}")
    try:
        fresh = await refresh_grant(
            http,
            credentials.get("token_url") or OAUTH_TOKEN_URL,
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            refresh_token=credentials["refresh_token"],
            client_auth="basic",
            name="pipedrive",
        )
    except OAuthRefreshError as exc:
        raise AuthError(str(exc)) from None
    body = fresh.body
    new = dict(credentials)
    new["access_token"] = fresh.access_token
    if fresh.refresh_token:
        new["refresh_token"] = fresh.refresh_token
    new["expires_at"] = str(int(now + float(body.get("expires_in") or 3599)))
    if body.get("api_domain"):
        new["api_domain"] = str(body["api_domain"])
    return Auth(
        headers={"Authorization": f"Bearer {new['access_token']}"},
        base_url=new.get("api_domain") or None,
        credentials=new,
    )
