"""One rate limiter per CRM account, shared by every stream and task that calls it.

Each budget of the policy is a sliding-window log: it lets at most ``requests`` calls
start in any window of ``per_seconds``, which keeps a client under a fixed-window server
limit as well, and lets a steady caller use the whole allowance; a ``paced`` policy also
spreads them evenly over the window. Every request draws from the default budget, and from
the named budgets it asks for (HubSpot search calls also from "search"). On top of that
the CRM's own accounting wins: a reading saying no quota remains in a budget
(``remaining_header`` = 0 once the requests sent since that answer are counted: those
in flight; :meth:`Connector.read_quota`) holds it back until its reset, a 429's Retry-After
pauses every caller of the account, and the daily allowance (:mod:`core.sync.daily`)
slows the calls down, then stops them.

Limiters live in a :class:`RateLimiters` registry keyed by ``Connector.account_key``; the
process-wide :data:`DEFAULT_LIMITERS` is what the runner uses unless told otherwise. On
PostgreSQL the window budgets are also shared with the account's other worker processes
(:mod:`core.sync.sharedlimit`); the daily figures need not be, the CRM reports them to all.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from core.sync.connector import DAILY_BUDGET, DEFAULT_BUDGET, QuotaReading, RateLimitPolicy
from core.sync.daily import DailyTracker
from core.sync.sharedlimit import SharedWindows

#: A ``reset`` header above this is an epoch timestamp (s or ms), not a delay.
_EPOCH_SECONDS = 1_000_000_000


def parse_reset(value: str | None, now: float | None = None) -> float | None:
    """Seconds until a rate-limit reset given as delay seconds, epoch seconds or epoch ms."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    now = time.time() if now is None else now
    if number > _EPOCH_SECONDS * 1000:
        return max(0.0, number / 1000 - now)
    if number > _EPOCH_SECONDS:
        return max(0.0, number - now)
    return max(0.0, number)


#: How many intervals early a paced request may start (see ``_Window.interval``).
PACE_SLACK = 2


class _Window:
    """The start times of the last ``requests`` calls of one budget, and its pause."""

    def __init__(self, requests: int, per_seconds: float, paced: bool = False) -> None:
        self.requests = requests
        self.per_seconds = per_seconds
        #: Requests reach the CRM with some jitter after they leave: the window is padded
        #: a little (3% + 20 ms) so that the CRM's own count never sees one too many.
        self.span = per_seconds * 1.03 + 0.02
        #: Paced: one request per ``interval`` on average (the window's share of one),
        #: scheduled GCRA-style: ``due`` is when the next one is due on that schedule, and
        #: a request may start up to ``PACE_SLACK`` intervals early, so that a caller late
        #: for its turn (a busy event loop) catches up instead of losing the slot.
        self.interval = self.span / requests if paced and requests > 0 else 0.0
        self.due = 0.0
        self.starts: deque[float] = deque()
        self.paused_until = 0.0

    def delay(self, now: float) -> float:
        while self.starts and self.starts[0] <= now - self.span:
            self.starts.popleft()
        delay = self.paused_until - now
        if len(self.starts) >= self.requests:
            delay = max(delay, self.starts[0] + self.span - now)
        if self.interval:
            delay = max(delay, self.due - PACE_SLACK * self.interval - now)
        return delay

    def start(self, now: float) -> None:
        """Count a request starting at ``now``."""
        self.starts.append(now)
        if self.interval:
            self.due = max(self.due, now) + self.interval


class RateLimiter:
    """Sliding-window budgets, a pause any caller can extend, and the daily allowance.

    ``clock``/``sleep`` (monotonic) and ``wall`` (epoch seconds) are injectable so that
    tests run on a fake clock.
    """

    def __init__(
        self,
        policy: RateLimitPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self.clock, self.sleep, self.wall = clock, sleep, wall
        self.windows = {DEFAULT_BUDGET: _Window(policy.requests, policy.per_seconds, policy.paced)}
        for budget in policy.budgets:
            self.windows[budget.name] = _Window(budget.requests, budget.per_seconds)
        self.daily = DailyTracker(policy.daily, wall) if policy.daily is not None else None
        #: The windows as shared by all worker processes (PostgreSQL), if any.
        self.shared: SharedWindows | None = None
        self._paused_until = 0.0
        self._last_start: float | None = None
        #: Requests started so far: :meth:`acquire` hands out the count as a ticket.
        self.started = 0
        #: The CRM's latest figure for the default window: (remaining, the ticket of the
        #: request it answered, when the window resets), from :meth:`observe`.
        self._said: tuple[float, int, float] | None = None
        #: How often a request held back for answers on their way looks again.
        self._poll = self.windows[DEFAULT_BUDGET].interval or 0.025
        self._lock = asyncio.Lock()
        #: Seconds callers spent waiting, for run statistics.
        self.waited = 0.0

    async def acquire(self, budgets: Iterable[str] = ()) -> int:
        """Wait until one more request may start in every budget it uses, then count it;
        its ticket (the number of requests started before it, this one included) goes
        back to :meth:`observe` with the answer.

        A budget the policy does not declare does not limit (a plan without that limit,
        a test policy). Raises :class:`~core.sync.errors.QuotaExhausted` once the daily
        allowance is down to its reserve.
        """
        names = [DEFAULT_BUDGET, *(n for n in budgets if n in self.windows and n != DEFAULT_BUDGET)]
        windows = [self.windows[name] for name in names]
        async with self._lock:
            while True:
                self.check()
                now = self.clock()
                delay = max([self._paused_until - now] + [w.delay(now) for w in windows])
                delay = max(delay, self._unanswered_delay(now))
                if self.daily is not None and self._last_start is not None:
                    delay = max(delay, self._last_start + self.daily.delay() - now)
                if delay <= 0:
                    for window in windows:
                        window.start(now)
                    self._last_start = now
                    self.started += 1
                    ticket = self.started
                    if self.daily is not None:
                        self.daily.spend()
                    break
                self.waited += delay
                await self.sleep(delay)
        if self.shared is not None:
            await self._acquire_shared(names)
        return ticket

    async def _acquire_shared(self, names: Sequence[str]) -> None:
        """Take the same slots in the account's windows shared with other processes."""
        assert self.shared is not None
        for name in names:
            window = self.windows[name]
            while (
                wait := await self.shared.take(
                    name, window.requests, window.span, window.per_seconds
                )
            ) > 0:
                self.waited += wait
                await self.sleep(wait)

    def check(self) -> None:
        """Raise :class:`~core.sync.errors.QuotaExhausted` if the daily allowance is spent."""
        if self.daily is not None:
            self.daily.check()

    def new_run(self) -> None:
        """A run starts: if an earlier one stopped at the daily limit, let its first
        request ask the CRM again instead of trusting the old figure until the reset."""
        if self.daily is not None:
            self.daily.recheck()

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (a 429's Retry-After, an exhausted quota)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def observe(self, headers: Mapping[str, str], ticket: int | None = None) -> None:
        """Obey the policy's ``remaining_header``: no quota left means wait for its reset.

        With the answered request's ``ticket`` the figure is kept as the latest word on
        the window (see :meth:`_unanswered_delay`): the requests started after that one
        count against it, for the CRM had not seen them when it answered.
        """
        name = self.policy.remaining_header
        if not name or name not in headers:
            return
        try:
            remaining = float(headers[name])
        except ValueError:
            return
        reset = parse_reset(headers.get(self.policy.reset_header or ""), self.wall())
        if ticket is not None:
            if self._said is None or ticket >= self._said[1]:
                wait = reset if reset is not None else self.policy.per_seconds
                self._said = (remaining, ticket, self.clock() + wait)
            return
        self.record([QuotaReading(DEFAULT_BUDGET, remaining, reset_in=reset)])

    def _unanswered_delay(self, now: float) -> float:
        """How long to hold a request back for the CRM's latest figure (``remaining``
        when it answered request number ``ticket``, until its window resets).

        The requests started after that answer's request are on their way: if they use
        up what it said was left, one more would be refused unless the window resets
        before it arrives. So it waits for the answers on their way (one of them brings
        a newer figure: re-checked every ``poll`` seconds) or, with none on its way, for
        the reset. Counting requests in flight this way is what a burst limiter alone
        cannot do: requests reach the CRM late and bunched, so a window the client spaced
        correctly can still be over the CRM's count.
        """
        if self._said is None:
            return 0.0
        remaining, ticket, resets_at = self._said
        if now >= resets_at:
            self._said = None
            return 0.0
        if remaining - (self.started - ticket) > 0:
            return 0.0
        if self.started > ticket:
            return min(self._poll, resets_at - now)
        return resets_at - now

    def record(self, readings: Sequence[QuotaReading]) -> None:
        """Take what the CRM reports: an empty window budget waits for its reset (or a
        whole window), the daily figures drive pacing and the stop."""
        for reading in readings:
            if reading.budget == DAILY_BUDGET:
                if self.daily is not None:
                    self.daily.observe(reading)
                continue
            window = self.windows.get(reading.budget)
            if window is None or reading.remaining > 0:
                continue
            wait = reading.reset_in if reading.reset_in is not None else window.per_seconds
            window.paused_until = max(window.paused_until, self.clock() + wait)


class RateLimiters:
    """Limiters by account key: the same account always gets the same limiter."""

    def __init__(self) -> None:
        self._limiters: dict[tuple[int, str], RateLimiter] = {}

    def get(
        self, account_key: str, policy: RateLimitPolicy, engine: AsyncEngine | None = None
    ) -> RateLimiter:
        """The account's limiter (per event loop: asyncio primitives belong to one loop);
        with a PostgreSQL ``engine`` its windows are shared with the other processes."""
        key = (id(asyncio.get_running_loop()), account_key)
        limiter = self._limiters.get(key)
        if limiter is None or limiter.policy != policy:
            limiter = self._limiters[key] = RateLimiter(policy)
        shared = limiter.shared
        if (
            engine is not None
            and engine.dialect.name == "postgresql"
            and (shared is None or shared.engine is not engine)
        ):
            limiter.shared = SharedWindows(engine, account_key)
        return limiter


DEFAULT_LIMITERS = RateLimiters()
