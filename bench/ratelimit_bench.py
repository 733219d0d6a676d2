"""Rate-limit efficiency: how much of a CRM's request budget a sync uses, and how many 429s.

A server limited to R requests per fixed 10 s window (the fault middleware's ``rate=R/10s``,
429 + Retry-After beyond it) is called by 8 concurrent callers that each take the engine's
:class:`~core.sync.ratelimit.RateLimiter` (policy R per 10 s) before every request and obey
a 429's Retry-After the way the engine does (pause the limiter). After a warm-up window,
reported: successful requests as a share of the budget R per window (target >= 95%) and the
429s received (target 0). The baseline is the physical limit: R per window.

The same for a named budget: a search endpoint limited to S requests per second (HubSpot:
5) called through the policy's ``search`` budget, on top of the 10-second window.

And Pipedrive's rate-limited first load (bench/pipedrive_load.py): a full sync against
the simulator enforcing Pipedrive's burst limit, the share of its allowance used (target
>= 90%) and the 429s met (target 0), with its requests and deals.

Runnable alone: ``python -m bench.ratelimit_bench [--quick]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from api.threaded_server import serve_in_thread
from bench import pipedrive_load
from bench.harness import BenchContext, Measurement
from core.simulation.faults import FaultMiddleware
from core.sync.connector import Budget, RateLimitPolicy
from core.sync.ratelimit import RateLimiter

REQUESTS = 100
WINDOW = 10.0
CALLERS = 8
SEARCHES = 5
SEARCH_WINDOW = 1.0


class _Recorder:
    """The limited endpoint: records when each request it answers (so not 429ed) arrived."""

    def __init__(self) -> None:
        self.answered: list[float] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.answered.append(time.monotonic())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _drive(
    base_url: str, seconds: float, policy: RateLimitPolicy, budgets: tuple[str, ...] = ()
) -> list[tuple[float, int]]:
    """Callers request as fast as the limiter lets them; (time, status) of every answer."""
    limiter = RateLimiter(policy)
    answers: list[tuple[float, int]] = []
    stop = time.monotonic() + seconds

    async def caller(client: httpx.AsyncClient) -> None:
        while time.monotonic() < stop:
            await limiter.acquire(budgets)
            if time.monotonic() >= stop:
                return
            response = await client.get(f"{base_url}/v1/deals")
            answers.append((time.monotonic(), response.status_code))
            if response.status_code == 429:
                limiter.pause(float(response.headers.get("retry-after", "1")))

    async with httpx.AsyncClient() as client:
        await asyncio.gather(*(caller(client) for _ in range(CALLERS)))
    return answers


def measure(windows: int, *, search: bool = False) -> dict[str, float]:
    """The 10-second window alone, or (``search``) the search budget's 1-second window."""
    requests, window = (SEARCHES, SEARCH_WINDOW) if search else (REQUESTS, WINDOW)
    policy = RateLimitPolicy(
        requests=REQUESTS, per_seconds=WINDOW, budgets=(Budget("search", SEARCHES, 1.0),)
    )
    recorder = _Recorder()
    app = FaultMiddleware(recorder, f"rate={requests}/{window:g}s")
    budgets = ("search",) if search else ()
    with serve_in_thread(app) as base_url:
        answers = asyncio.run(_drive(base_url, window * (windows + 1), policy, budgets))
    first = min(recorder.answered)
    warm, end = first + window, first + window * (windows + 1)
    achieved = sum(warm <= t < end for t in recorder.answered)
    rejected = sum(status == 429 and t >= warm for t, status in answers)
    return {
        "share": achieved / (requests * windows),
        "achieved": achieved,
        "rejected_after_warmup": rejected,
        "rejected_total": sum(status == 429 for _, status in answers),
    }


def run(ctx: BenchContext) -> list[Measurement]:
    windows = 2 if ctx.quick else 4
    result = measure(windows)
    print(f"   rate limit: {result}", flush=True)
    notes = (
        f"R={REQUESTS}/{WINDOW:g}s, {CALLERS} concurrent callers, {windows} windows after a "
        f"warm-up window: {result['achieved']:.0f} requests answered; "
        f"429s in total {result['rejected_total']:.0f}"
    )
    search_windows = 4 if ctx.quick else 20
    found = measure(search_windows, search=True)
    print(f"   search budget: {found}", flush=True)
    search_notes = (
        f"search endpoint limited to {SEARCHES}/{SEARCH_WINDOW:g}s, {CALLERS} concurrent "
        f"callers through the policy's search budget, {search_windows} windows after a "
        f"warm-up window: {found['achieved']:.0f} searches answered; "
        f"429s in total {found['rejected_total']:.0f}"
    )
    return [
        *_first_load(ctx),
        Measurement(
            "search budget used after warm-up",
            found["share"],
            "share of S",
            baseline=1.0,
            baseline_name="physical limit (S per second)",
            target=">= 0.9",
            notes=search_notes,
            key="rate_search_budget_use",
        ),
        Measurement(
            "search 429s received after warm-up",
            found["rejected_after_warmup"],
            "responses",
            baseline=0,
            baseline_name="none possible within the limit",
            target="0",
            notes=search_notes,
            key="rate_search_429_after_warmup",
        ),
        Measurement(
            "rate-limit budget used after warm-up",
            result["share"],
            "share of R",
            baseline=1.0,
            baseline_name="physical limit (R per window)",
            target=">= 0.95",
            notes=notes,
            key="rate_budget_use",
        ),
        Measurement(
            "429s received after warm-up",
            result["rejected_after_warmup"],
            "responses",
            baseline=0,
            baseline_name="none possible within the limit",
            target="0",
            notes=notes,
            key="rate_429_after_warmup",
        ),
    ]


def _first_load(ctx: BenchContext) -> list[Measurement]:
    deals = pipedrive_load.QUICK_DEALS if ctx.quick else pipedrive_load.DEALS
    load = pipedrive_load.measure(deals)
    print(f"   pipedrive first load: {load}", flush=True)
    if load["status"] != "SUCCEEDED":
        raise RuntimeError(f"the Pipedrive first load did not succeed: {load}")
    notes = (
        f"full sync of {load['deals']:,} deals against the Pipedrive simulator in its own "
        f"process enforcing 80 requests per 2 s (429 + Retry-After past it), "
        f"{load['latency_ms']} ms per answer, the connector's own limiter, SQLite: "
        f"{load['requests']:,} requests answered in {load['seconds']:.1f} s, "
        f"{load['records']:,} records; answers >= 400 other than 429: {load['other_errors']}"
    )
    return [
        Measurement(
            "Pipedrive first load: allowance used",
            load["allowance_used"],
            "share of 80 per 2 s",
            baseline=1.0,
            baseline_name="physical limit (80 requests per 2 s)",
            target=">= 0.9",
            notes=notes,
            key="pipedrive_first_load_allowance_use",
        ),
        Measurement(
            "Pipedrive first load: 429s met",
            load["http_429"],
            "responses",
            baseline=0,
            baseline_name="none possible within the limit",
            target="0",
            notes=notes,
            key="pipedrive_first_load_429",
        ),
        Measurement(
            "Pipedrive first load: requests",
            load["requests"],
            f"requests for {load['deals']:,} deals",
            notes=notes,
            key="pipedrive_first_load_requests",
        ),
    ]


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="crmkpi-bench-") as tmp:
        for m in run(BenchContext(workdir=Path(tmp), quick="--quick" in sys.argv)):
            print(f"{m.name}: {m.value} {m.unit} (target {m.target})")
