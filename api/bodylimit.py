"""The request body limit for every route, enforced while the body streams in (issue #20).

A ``Content-Length`` over the limit is refused before anything is read. A body without one
(``Transfer-Encoding: chunked``) is counted chunk by chunk as the application reads it, and
the moment it passes the limit reading stops and the answer is 413: a 150 MB chunked body
never sits in memory (it did: checking ``Content-Length`` alone let it through). Pure ASGI,
outermost of the application's middleware, so no route or middleware can read first.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """ASGI middleware: 413 for any request body over ``max_bytes``, chunked or not."""

    def __init__(self, app: App, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(scope, send)
                return
        received = 0
        started = refused = False

        async def limited() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Answer now and tell the application the client left: it stops
                    # reading, and whatever it answers or raises after that is dropped.
                    refused = True
                    if not started:
                        await self._refuse(scope, send)
                    return {"type": "http.disconnect"}
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, send: Send) -> None:
        message = f"request body over {self.max_bytes} bytes"
        body: dict[str, Any] = (
            {
                "data": None,
                "errors": [{"message": message, "extensions": {"code": "REQUEST_TOO_LARGE"}}],
            }
            if str(scope.get("path", "")).startswith("/graphql")
            else {"error": message}
        )
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
