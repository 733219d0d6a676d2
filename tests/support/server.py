"""Serve an ASGI app over a real socket for end-to-end HTTP tests (see api.background)."""

from __future__ import annotations

from api.background import serve_in_thread as serve

__all__ = ["serve"]
