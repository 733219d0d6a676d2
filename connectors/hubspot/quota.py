"""What HubSpot says is left of the account's limits (shared/CRM-APIS.md §1.7).

Every non-search answer carries ``X-HubSpot-RateLimit-*``: the rolling 10-second window
(``-Remaining`` of ``-Max``) and, for private apps, the day (``-Daily-Remaining`` of
``-Daily``; it resets at midnight in the account's time zone, which the headers do not
give, so the limiter assumes UTC). Search answers carry none. A 429 names the policy it
hit (``policyName``): ``SECONDLY`` is the search endpoints' own per-second limit.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from core.sync.connector import DAILY_BUDGET, DEFAULT_BUDGET, QuotaReading, Request

#: The budget of the search endpoints (``RateLimitPolicy.budgets``).
SEARCH_BUDGET = "search"
#: 429 ``policyName`` -> the budget it exhausted (which then waits out its window).
_POLICIES = {
    "DAILY": DAILY_BUDGET,
    "SECONDLY": SEARCH_BUDGET,
    "TEN_SECONDLY_ROLLING": DEFAULT_BUDGET,
}


def budgets_for(request: Request) -> tuple[str, ...]:
    """Search calls draw from the search budget as well as the account's window."""
    if request.method == "POST" and request.path.endswith("/search"):
        return (*request.budgets, SEARCH_BUDGET)
    return request.budgets


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


def read_quota(response: httpx.Response) -> list[QuotaReading]:
    """Readings of the day, and of the budget a 429 names (the 10-second window's
    ``-Remaining`` is the policy's ``remaining_header``)."""
    headers = response.headers
    readings: list[QuotaReading] = []
    daily = _number(headers, "X-HubSpot-RateLimit-Daily-Remaining")
    if daily is not None:
        limit = _number(headers, "X-HubSpot-RateLimit-Daily")
        readings.append(QuotaReading(DAILY_BUDGET, daily, limit=limit))
    if response.status_code == 429:
        try:
            body = response.json()
        except ValueError:
            body = None
        policy = body.get("policyName") if isinstance(body, dict) else None
        if policy in _POLICIES:
            readings.append(QuotaReading(_POLICIES[policy], 0))
    return readings
