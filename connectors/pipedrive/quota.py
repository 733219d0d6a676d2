"""What Pipedrive says is left of the company's limits (shared/CRM-APIS.md §2.7).

The burst window (``x-ratelimit-remaining``/``-reset``, 2 seconds) is read by the
policy's headers. The daily token budget, shared by all users and apps of the company
and reset at midnight UTC, is read from ``x-daily-tokens-left`` of
``x-daily-token-limit`` (header names not verified against a live account; the legacy
``x-daily-requests-left`` only counts POST/PUT calls, which a sync does not make).
"""

from __future__ import annotations

import httpx

from core.sync.connector import DAILY_BUDGET, QuotaReading

DAILY_LEFT_HEADER = "x-daily-tokens-left"
DAILY_LIMIT_HEADER = "x-daily-token-limit"


def read_quota(response: httpx.Response) -> list[QuotaReading]:
    """The day's token budget, when the answer reports it."""
    try:
        left = float(response.headers[DAILY_LEFT_HEADER])
    except (KeyError, ValueError):
        return []
    try:
        limit: float | None = float(response.headers[DAILY_LIMIT_HEADER])
    except (KeyError, ValueError):
        limit = None
    return [QuotaReading(DAILY_BUDGET, left, limit=limit)]
