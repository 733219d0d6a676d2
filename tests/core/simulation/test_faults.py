"""Fault injection: spec parsing and each fault over a real socket."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from core.errors import ValidationError
from core.simulation.faults import FaultMiddleware, FaultSpec
from tests.support.server import serve


async def _ok(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"ok": true}'})


def test_parse_full_spec() -> None:
    spec = FaultSpec.parse("5xx=0.1,429every=7,drop=0.01,latency=200ms,rate=100/10s,seed=3")
    assert spec == FaultSpec(
        error_rate=0.1,
        every_429=7,
        drop_rate=0.01,
        latency=0.2,
        rate_requests=100,
        rate_window=10.0,
        seed=3,
    )
    assert not FaultSpec.parse("").active


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("boom=1", "unknown fault"),
        ("5xx=lots", "bad value"),
        ("5xx=2", "probability"),
        ("x", "KEY"),
    ],
)
def test_bad_specs_are_explained(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FaultSpec.parse(text)


async def test_every_nth_request_is_a_429_with_retry_after() -> None:
    with serve(FaultMiddleware(_ok, "429every=3,retry_after=2")) as url:
        async with httpx.AsyncClient() as client:
            statuses = [(await client.get(url)).status_code for _ in range(6)]
            answer = (await client.get(url), await client.get(url), await client.get(url))[2]
    assert statuses == [200, 200, 429, 200, 200, 429]
    assert answer.headers["retry-after"] == "2"


async def test_rate_limit_window() -> None:
    with serve(FaultMiddleware(_ok, "rate=3/10s")) as url:
        async with httpx.AsyncClient() as client:
            responses = [await client.get(url) for _ in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
    assert 1 <= int(responses[-1].headers["retry-after"]) <= 10


async def test_errors_and_drops_are_seeded_and_drops_cut_the_connection() -> None:
    app = FaultMiddleware(_ok, "5xx=0.3,drop=0.3,seed=1")
    outcomes: list[str] = []
    with serve(app) as url:
        async with httpx.AsyncClient() as client:
            for _ in range(40):
                try:
                    outcomes.append(str((await client.get(url)).status_code))
                except httpx.TransportError:
                    outcomes.append("dropped")
    assert outcomes.count("dropped") == app.injected["drop"] > 0
    assert sum(o.startswith("5") for o in outcomes) == app.injected["5xx"] > 0
    assert outcomes.count("200") == 40 - app.injected["drop"] - app.injected["5xx"]
