"""An ASGI app served by uvicorn on a random local port, in a thread, for browser tests.

The real app (:func:`crmkpi_app`) builds its own engine on ``database_url`` inside the
server's event loop (its lifespan), so a test can seed the same database meanwhile.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from api.app import create_app
from core.plugins import create_plugin_manager
from core.settings import Settings

_START_TIMEOUT = 15.0


def crmkpi_app(database_url: str) -> FastAPI:
    return create_app(
        Settings(database_url=database_url),
        plugins=create_plugin_manager(load_entrypoints=False),
    )


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` until the block ends; yields its base URL (http://127.0.0.1:PORT)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_START_TIMEOUT)
        sock.close()
