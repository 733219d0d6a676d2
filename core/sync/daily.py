"""The daily part of an account's rate limit: pace before the allowance runs out, then stop.

CRMs meter a day as well as a second: HubSpot private apps and Salesforce orgs count
requests, Pipedrive counts tokens. The allowance is shared with the customer's other
integrations, so a sync must not take it all: :class:`DailyTracker` keeps the
``reserve`` share untouched, stretches the requests out once the usable rest runs low
(one request per ``time to reset / usable rest``, at most ``max_delay`` apart), and
raises :class:`~core.sync.errors.QuotaExhausted` when nothing usable is left. The CRM's
own readings are the truth; between two readings each request is counted at ``cost``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from core.sync.connector import DailyBudget, QuotaReading
from core.sync.errors import QuotaExhausted


def seconds_to_utc_midnight(now: float) -> float:
    """Seconds from epoch time ``now`` to the next UTC midnight (the usual daily reset)."""
    moment = datetime.fromtimestamp(now, UTC)
    midnight = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - moment).total_seconds()


class DailyTracker:
    """What is left of one account's daily allowance, per the CRM and our own count."""

    def __init__(self, budget: DailyBudget, wall: Callable[[], float]) -> None:
        self.budget = budget
        self.wall = wall
        self.limit: float | None = budget.limit
        #: None until a response reports it (then counted down between readings).
        self.remaining: float | None = None
        self.resets_at: float | None = None

    def observe(self, reading: QuotaReading) -> None:
        """Take the CRM's word for what is left (and, when it says, the limit and reset)."""
        self.remaining = max(0.0, reading.remaining)
        if reading.limit is not None and reading.limit > 0:
            self.limit = reading.limit
        now = self.wall()
        reset_in = reading.reset_in
        if reset_in is None and (self.resets_at is None or self.resets_at <= now):
            reset_in = seconds_to_utc_midnight(now)  # not reported: the usual daily reset
        if reset_in is not None:
            self.resets_at = now + reset_in

    def spend(self) -> None:
        """Count one request until the next reading corrects the figure."""
        if self.remaining is not None:
            self.remaining = max(0.0, self.remaining - self.budget.cost)

    def reset_in(self) -> float:
        """Seconds until the allowance is refilled (next UTC midnight when not reported)."""
        now = self.wall()
        if self.resets_at is not None and self.resets_at > now:
            return self.resets_at - now
        return seconds_to_utc_midnight(now)

    def _roll_over(self) -> None:
        """Forget a count from before the reset: the new day's first reading brings one."""
        if self.resets_at is not None and self.wall() >= self.resets_at:
            self.remaining = self.resets_at = None

    @property
    def reserved(self) -> float:
        return self.budget.reserve * self.limit if self.limit else 0.0

    def usable(self) -> float | None:
        """What the sync may still spend today (None: not known yet)."""
        self._roll_over()
        if self.remaining is None:
            return None
        return self.remaining - self.reserved

    def recheck(self) -> None:
        """Forget a stop so that the next request asks the CRM again (a new run: the
        allocation may have come back, e.g. Salesforce's rolling 24 hours)."""
        usable = self.usable()
        if usable is not None and usable < self.budget.cost:
            self.remaining = None

    def check(self) -> None:
        """Raise :class:`QuotaExhausted` when not even one more request fits today."""
        usable = self.usable()
        if usable is None or usable >= self.budget.cost:
            return
        assert self.remaining is not None
        shown = f"{self.remaining:g} left"
        if self.limit:
            shown += f" of {self.limit:g}, {self.reserved:g} kept in reserve"
        raise QuotaExhausted(
            f"daily API budget exhausted ({shown}): the sync stopped and resumes from its "
            f"saved cursors after the reset (in about {self.reset_in() / 3600:.1f} h)"
        )

    def delay(self) -> float:
        """Seconds to wait before the next request: 0 until the rest runs low, then the
        remaining time spread over the remaining usable requests (capped)."""
        usable = self.usable()
        if usable is None or not self.limit or usable >= self.budget.slow_below * self.limit:
            return 0.0
        requests_left = max(usable / self.budget.cost, 1.0)
        return min(self.budget.max_delay, self.reset_in() / requests_left)
