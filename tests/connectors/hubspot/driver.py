"""The shared stream driver (tests/support/driver.py) with HubSpot's bearer token."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from tests.support.driver import Http, Result, drive

__all__ = ["PlainHttp", "Result", "drive"]


class PlainHttp(Http):
    """Sends requests with an httpx client and a bearer token; raises on HTTP errors."""

    def __init__(self, client: httpx.AsyncClient, headers: Mapping[str, str] | None = None):
        super().__init__(client, headers or {"Authorization": "Bearer test-token"})
