"""What a connector declares about its CRM's rate limits (``Connector.rate_limit``) and
what responses say is left (``Connector.read_quota``); the engine's limiter
(core.sync.ratelimit) paces requests by them. Re-exported by core.sync.connector.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The budget every request draws from: ``RateLimitPolicy.requests`` per ``per_seconds``.
DEFAULT_BUDGET = "default"
#: The name a :class:`QuotaReading` of the daily allowance carries.
DAILY_BUDGET = "daily"


@dataclass(frozen=True, slots=True)
class Budget:
    """A further window some requests are also counted in (HubSpot search: 5 a second)."""

    name: str
    requests: int
    per_seconds: float


@dataclass(frozen=True, slots=True)
class DailyBudget:
    """A daily allowance shared with the customer's other integrations.

    ``limit`` is in the CRM's unit (requests, Pipedrive tokens); None means learn it from
    the responses. The sync never spends the last ``reserve`` share of it, paces itself
    once less than ``slow_below`` of it is left above the reserve (at most ``max_delay``
    seconds between requests), and counts ``cost`` per request between two readings.
    """

    limit: float | None = None
    reserve: float = 0.1
    slow_below: float = 0.1
    max_delay: float = 1.0
    cost: float = 1.0


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """The CRM's allowance per account, and the headers that report what is left of it.

    ``requests`` per ``per_seconds`` is the default budget every request draws from;
    ``budgets`` are named extra windows a :class:`Request` opts into; ``daily`` is the
    daily allowance, known from :meth:`Connector.read_quota` readings.
    """

    requests: int
    per_seconds: float
    remaining_header: str | None = None
    reset_header: str | None = None
    budgets: tuple[Budget, ...] = ()
    daily: DailyBudget | None = None
    #: Spread the window's requests evenly (one every ``per_seconds / requests``) instead
    #: of letting a whole window's worth start at once: a burst reaches the CRM bunched,
    #: and a server counting from its first arrival can see one window's burst and the
    #: next window's first requests together (Pipedrive's 2-second burst limit).
    paced: bool = False


@dataclass(frozen=True, slots=True)
class QuotaReading:
    """What a response says is left of one budget (:data:`DEFAULT_BUDGET`, a
    :class:`Budget` name or :data:`DAILY_BUDGET`); ``reset_in`` in seconds."""

    budget: str
    remaining: float
    limit: float | None = None
    reset_in: float | None = None
