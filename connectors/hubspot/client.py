"""HubSpot authentication: a private-app token, or an OAuth access token with refresh.

The engine owns the HTTP client, rate limiting and retries; this module only turns stored
credentials into request headers. OAuth access tokens live 30 minutes and HubSpot says a
401 is not a reliable sign of expiry, so tokens are refreshed *before* ``expires_at`` (with
a safety margin), and also when the engine asks after a 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import httpx

from connectors.hubspot import settings
from core.errors import CrmkpiError
from core.sync.connector import Auth
from core.sync.oauth import OAuthRefreshError, refresh_grant

#: Refresh this long before the token's end, so no request carries an expiring token.
REFRESH_MARGIN = timedelta(minutes=5)


class HubSpotAuthError(CrmkpiError):
    """The credentials cannot be used (missing token, refresh refused)."""


def _expires_soon(credentials: Mapping[str, str], now: datetime) -> bool:
    expires_at = credentials.get("expires_at")
    if not expires_at:
        return False
    return datetime.fromisoformat(expires_at) - REFRESH_MARGIN <= now


def can_refresh(credentials: Mapping[str, str]) -> bool:
    return all(credentials.get(k) for k in ("refresh_token", "client_id", "client_secret"))


async def authenticate(
    http: httpx.AsyncClient,
    credentials: Mapping[str, str],
    base_url: str,
    *,
    refresh: bool = False,
    now: datetime | None = None,
) -> Auth:
    """Bearer headers; refreshes the OAuth token when asked or when it is about to expire.

    After a refresh, ``Auth.credentials`` holds the new token set for the engine to store.
    """
    now = now or datetime.now(UTC)
    token = credentials.get("access_token")
    if can_refresh(credentials) and (refresh or not token or _expires_soon(credentials, now)):
        fresh = await refresh_token(http, credentials, base_url, now=now)
        return Auth(headers=_bearer(fresh["access_token"]), credentials=fresh)
    if not token:
        raise HubSpotAuthError(
            "hubspot: an access_token (private app) or refresh_token, client_id and "
            "client_secret (OAuth) are required"
        )
    return Auth(headers=_bearer(token))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh_token(
    http: httpx.AsyncClient, credentials: Mapping[str, str], base_url: str, *, now: datetime
) -> dict[str, str]:
    """``grant_type=refresh_token`` at ``/oauth/v1/token`` (form-encoded, as documented)."""
    try:
        fresh = await refresh_grant(
            http,
            base_url.rstrip("/") + settings.TOKEN_PATH,
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            refresh_token=credentials["refresh_token"],
            name="hubspot",
        )
    except OAuthRefreshError as exc:
        raise HubSpotAuthError(str(exc)) from None
    expires_in = int(fresh.body.get("expires_in") or 1800)
    return {
        **credentials,
        "access_token": fresh.access_token,
        "refresh_token": fresh.refresh_token or credentials["refresh_token"],
        "expires_at": (now + timedelta(seconds=expires_in)).isoformat(),
    }
