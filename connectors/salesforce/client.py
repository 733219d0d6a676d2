"""Salesforce authentication and response signals: OAuth 2.0 refresh, limits, error codes.

The engine owns the HTTP client, retries and rate limiting; this module only knows how to
get an access token (refresh-token flow against the login URL; data calls then go to the
token's ``instance_url``) and how to read what Salesforce says in headers and error bodies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from connectors.salesforce import settings
from core.errors import CrmkpiError
from core.sync.errors import QuotaExhausted
from core.sync.oauth import OAuthRefreshError, refresh_grant

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceAuthError(CrmkpiError):
    """The token endpoint refused the credentials (``invalid_grant``, ``invalid_client``)."""


class SalesforceConfigError(CrmkpiError):
    """A connection option (credential) that is not usable, with what is expected."""


def bulk_threshold(value: str | None) -> int:
    """The ``bulk_threshold`` credential as a row count (the default when unset)."""
    if value is None or value.strip() == "":
        return settings.BULK_THRESHOLD
    try:
        rows = int(value)
    except ValueError:
        rows = -1
    if rows < 0:
        raise SalesforceConfigError(
            f"bulk_threshold must be a whole number of rows (0 or more), not {value!r}"
        )
    return rows


class DailyLimitReached(QuotaExhausted):
    """The org's rolling 24 h API allocation is (almost) used up: stop, resume later."""


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    instance_url: str
    #: Set when the org rotates refresh tokens: the engine must store it for the next run.
    refresh_token: str | None = None


async def refresh_access_token(
    http: httpx.AsyncClient, login_url: str, credentials: Mapping[str, str]
) -> Token:
    """Trade the stored refresh token for an access token and the org's instance URL
    (the refresh grant of core.sync.oauth, client credentials in the form as documented)."""
    missing = [k for k in ("client_id", "client_secret", "refresh_token") if not credentials.get(k)]
    if missing:
        raise SalesforceAuthError(f"missing Salesforce credentials: {', '.join(missing)}")
    try:
        fresh = await refresh_grant(
            http,
            login_url.rstrip("/") + settings.TOKEN_PATH,
            client_id=credentials["client_id"],
            client_secret=credentials["client_secret"],
            refresh_token=credentials["refresh_token"],
            name="Salesforce",
        )
    except OAuthRefreshError as exc:
        raise SalesforceAuthError(str(exc)) from None
    instance = fresh.body.get("instance_url")
    if not instance:
        raise SalesforceAuthError("token response without instance_url")
    return Token(fresh.access_token, str(instance).rstrip("/"), fresh.refresh_token)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_codes(response: httpx.Response) -> list[str]:
    """The ``errorCode`` of each entry of a REST error body (a JSON array)."""
    body = _json(response)
    if not isinstance(body, list):
        return []
    return [str(e.get("errorCode")) for e in body if isinstance(e, Mapping) and "errorCode" in e]


def is_session_expired(response: httpx.Response) -> bool:
    """401 ``INVALID_SESSION_ID``: refresh the token once and retry the call."""
    return response.status_code == 401 and (
        not error_codes(response) or "INVALID_SESSION_ID" in error_codes(response)
    )


def is_daily_limit_exceeded(response: httpx.Response) -> bool:
    """403 ``REQUEST_LIMIT_EXCEEDED``: stop the run cleanly and resume from the cursor later.

    Salesforce signals its rolling 24 h allocation with 403, never 429, so retrying soon
    cannot help.
    """
    return response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in error_codes(response)


@dataclass(frozen=True, slots=True)
class ApiUsage:
    """The org's daily allocation as reported by ``Sforce-Limit-Info``."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 1.0

    @property
    def should_slow_down(self) -> bool:
        return self.share >= settings.DAILY_LIMIT_SLOWDOWN_AT

    @property
    def should_stop(self) -> bool:
        return self.share >= settings.DAILY_LIMIT_STOP_AT


def check_limits(response: httpx.Response) -> None:
    """Raise :class:`DailyLimitReached` on ``REQUEST_LIMIT_EXCEEDED``, or once usage passes
    ``DAILY_LIMIT_STOP_AT`` so the org keeps some allocation for its other integrations."""
    usage = api_usage(response.headers)
    if is_daily_limit_exceeded(response) or (usage is not None and usage.should_stop):
        shown = f" (api-usage={usage.used}/{usage.limit})" if usage else ""
        raise DailyLimitReached(
            f"Salesforce daily API request limit reached{shown}: the sync stopped and resumes "
            "from its saved cursors on the next run"
        )


def api_usage(headers: Mapping[str, str]) -> ApiUsage | None:
    """Parse ``Sforce-Limit-Info: api-usage=10018/100000[; api-bursts=1/750]``."""
    value = next((v for k, v in headers.items() if k.lower() == "sforce-limit-info"), None)
    match = _USAGE.search(value or "")
    return ApiUsage(int(match.group(1)), int(match.group(2))) if match else None
