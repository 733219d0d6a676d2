"""Fault injection for CRM simulators: every simulator wraps itself in :class:`FaultMiddleware`.

A :class:`FaultSpec` is parsed from the ``--faults`` string of ``crmkpi simulate``, e.g.
``"5xx=0.1,429every=7,drop=0.01,latency=200ms,rate=100/10s"``:

=============  ==============================================================================
``rate=R/Ws``  at most R requests per fixed window of W seconds; beyond: 429 + Retry-After
``429every=N`` every Nth request answers 429 with ``Retry-After: <retry_after>``
``5xx=p``      probability p of a 500 / 502 / 503
``drop=p``     probability p of a dropped connection (headers sent, body cut short)
``latency=D``  delay before every answer (``200ms``, ``0.2s``, ``0.2``)
``retry_after=S``  seconds announced by the injected 429s (default 1)
``seed=N``     seed of the random faults (default 0), for reproducible runs
=============  ==============================================================================
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError
from core.simulation.observe import observed
from core.simulation.paging import FixedWindow

#: The CRM's own body and headers for an injected error status (429, 500, 502, 503), so a
#: simulator's faults look like the CRM's: ``error(status) -> (body, headers)``.
ErrorRenderer = Callable[[int], tuple[bytes, dict[str, str]]]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _seconds(text: str) -> float:
    text = text.strip().lower()
    if text.endswith("ms"):
        return float(text[:-2]) / 1000
    if text.endswith("s"):
        return float(text[:-1])
    return float(text)


@dataclass(frozen=True, slots=True)
class FaultSpec:
    error_rate: float = 0.0
    every_429: int = 0
    drop_rate: float = 0.0
    latency: float = 0.0
    rate_requests: int = 0
    rate_window: float = 0.0
    retry_after: float = 1.0
    seed: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        """Parse ``"5xx=0.1,429every=7,..."``; ValidationError names the bad part."""
        values: dict[str, Any] = {}
        for part in (spec or "").split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            key = key.strip().lower()
            if not sep:
                raise ValidationError(f"fault {part!r}: expected KEY=VALUE")
            try:
                if key == "5xx":
                    values["error_rate"] = float(value)
                elif key == "429every":
                    values["every_429"] = int(value)
                elif key == "drop":
                    values["drop_rate"] = float(value)
                elif key == "latency":
                    values["latency"] = _seconds(value)
                elif key == "retry_after":
                    values["retry_after"] = _seconds(value)
                elif key == "seed":
                    values["seed"] = int(value)
                elif key == "rate":
                    count, _, window = value.partition("/")
                    values["rate_requests"] = int(count)
                    values["rate_window"] = _seconds(window or "1s")
                else:
                    raise ValidationError(
                        f"unknown fault {key!r}: use 5xx, 429every, drop, latency, rate, "
                        "retry_after or seed"
                    )
            except ValueError:
                raise ValidationError(f"fault {part!r}: bad value {value!r}") from None
        for name in ("error_rate", "drop_rate"):
            if not 0.0 <= values.get(name, 0.0) <= 1.0:
                raise ValidationError(f"fault {name}: a probability must be within [0, 1]")
        return cls(**values)

    @property
    def active(self) -> bool:
        s = self
        return bool(s.error_rate or s.every_429 or s.drop_rate or s.latency or s.rate_requests)


class FaultMiddleware:
    """ASGI middleware injecting the faults of a :class:`FaultSpec` into HTTP requests."""

    def __init__(
        self,
        app: App,
        spec: FaultSpec | str | None,
        *,
        error: ErrorRenderer | None = None,
        crm: str | None = None,
    ) -> None:
        self.app = app
        #: The CRM whose simulator this is: its injected answers pass its observers
        #: (core.simulation.observe) like the app's own.
        self.crm = crm
        self.spec = spec if isinstance(spec, FaultSpec) else FaultSpec.parse(spec)
        #: Renders injected errors in the CRM's shapes; None: a neutral JSON body.
        self.error = error
        self._random = random.Random(self.spec.seed)
        self._count = 0
        self._window = FixedWindow(self.spec.rate_window)
        #: What was injected, for tests and the simulator's log.
        self.injected: dict[str, int] = {"429": 0, "5xx": 0, "drop": 0, "rate": 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.spec.active:
            await self.app(scope, receive, send)
            return
        spec = self.spec
        self._count += 1
        if spec.latency:
            await asyncio.sleep(spec.latency)
        if spec.rate_requests:
            now = time.monotonic()
            if self._window.hit(now) > spec.rate_requests:
                self.injected["rate"] += 1
                retry = {"retry-after": str(self._window.reset_in(now))}
                await self._answer(scope, receive, send, 429, retry)
                return
        if spec.every_429 and self._count % spec.every_429 == 0:
            self.injected["429"] += 1
            retry = {"retry-after": f"{spec.retry_after:g}"}
            await self._answer(scope, receive, send, 429, retry)
            return
        if spec.error_rate and self._random.random() < spec.error_rate:
            self.injected["5xx"] += 1
            status = self._random.choice((500, 502, 503))
            await self._answer(scope, receive, send, status, {})
            return
        if spec.drop_rate and self._random.random() < spec.drop_rate:
            self.injected["drop"] += 1
            await _drop(send)
            return
        await self.app(scope, receive, send)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, status: int, headers: dict[str, str]
    ) -> None:
        """The injected answer: the renderer's body and headers, then the fault's own
        headers (Retry-After), which win."""
        body = b'{"error": "injected fault"}'
        if self.error is not None:
            body, rendered = self.error(status)
            headers = {**{k.lower(): v for k, v in rendered.items()}, **headers}

        async def injected(scope: Scope, receive: Receive, send: Send) -> None:
            await _answer(send, status, headers, body)

        app = observed(self.crm, injected) if self.crm else injected
        await app(scope, receive, send)


async def _answer(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    headers = {"content-type": "application/json", **headers, "content-length": str(len(body))}
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Announce a body, send part of it, stop: the server closes the connection mid-body."""
    headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"results": [', "more_body": True})
