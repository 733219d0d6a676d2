"""HubSpot's rate limits as the simulator enforces them (when switched on): 10-second
rolling and per-second search windows, the daily allowance, 429 bodies naming the policy
and the ``X-HubSpot-RateLimit-*`` headers (a mixin of HubSpotSimulator, whose attributes
``rate_limit``, ``search_rate``, ``daily_limit``, ``daily_used``, ``throttled`` and
``searches`` tests read and set)."""

from __future__ import annotations

import time
from collections import deque

from starlette.responses import JSONResponse, Response

from connectors.hubspot import settings
from connectors.hubspot.simulator.errors import rate_limit_body


class RateLimits:
    rate_limit: int | None
    search_rate: int | None
    daily_limit: int
    daily_used: int
    throttled: dict[str, int]
    searches: int
    _window: deque[float]
    _search_window: deque[float]

    def _limited(self, search: bool) -> Response | None:
        now = time.monotonic()
        if self.daily_used >= self.daily_limit:
            return self._throttle("DAILY", self._headers())
        self.daily_used += 1
        if self.rate_limit is not None:
            while self._window and self._window[0] <= now - settings.RATE_LIMIT_SECONDS:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                return self._throttle("TEN_SECONDLY_ROLLING", self._headers())
        self.searches += search
        if search and self.search_rate is not None:
            while self._search_window and self._search_window[0] <= now - 1.0:
                self._search_window.popleft()
            if len(self._search_window) >= self.search_rate:
                return self._throttle("SECONDLY", None)
            self._search_window.append(now)
        self._window.append(now)
        return None

    def _throttle(self, policy: str, headers: dict[str, str] | None) -> Response:
        self.throttled[policy] = self.throttled.get(policy, 0) + 1
        return JSONResponse(rate_limit_body(policy), status_code=429, headers=headers)

    def exhausted(self) -> dict[str, str]:
        """Rate-limit headers saying nothing is left of the 10-second allowance."""
        return {**self._headers(), "X-HubSpot-RateLimit-Remaining": "0"}

    def _headers(self) -> dict[str, str]:
        limit = self.rate_limit or 190
        remaining = max(0, limit - len(self._window)) if self.rate_limit else limit - 1
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self.daily_used)),
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": str(limit),
            "X-HubSpot-RateLimit-Remaining": str(remaining),
            "X-HubSpot-RateLimit-Secondly": str(limit // 10),
            "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, remaining // 10)),
        }
