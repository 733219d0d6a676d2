"""Serve an ASGI app over a real socket for end-to-end HTTP tests (see api.threaded_server)."""

from __future__ import annotations

from api.threaded_server import serve_in_thread as serve

__all__ = ["serve"]
