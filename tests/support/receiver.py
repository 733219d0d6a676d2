"""A webhook receiver for tests: an ASGI app that records every POST it gets and answers
``fail_first`` of them with 503, served on a real socket by tests.support.server."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from core.sync.notify import sign

Scope = dict[str, Any]


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    def signed_with(self, secret: str) -> bool:
        timestamp = int(self.headers["x-crmkpi-timestamp"])
        return self.headers["x-crmkpi-signature"] == sign(secret, timestamp, self.body)


@dataclass
class Receiver:
    fail_first: int = 0
    attempts: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        with self._lock:
            self.attempts += 1
            failing = self.attempts <= self.fail_first
            if not failing:
                headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
                self.deliveries.append(Delivery(headers, body))
        status = 503 if failing else 204
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})
