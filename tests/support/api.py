"""An in-process API client on the test database, with a tenant ready to query."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from api.app import create_app
from core.plugins import create_plugin_manager
from core.settings import Settings


@dataclass
class ApiClient:
    http: httpx.AsyncClient
    app: FastAPI

    async def graphql(
        self, query: str, variables: dict[str, Any] | None = None, *, key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


@asynccontextmanager
async def api_client(
    engine: AsyncEngine,
    *,
    plugins: Sequence[object] = (),
    **settings: Any,
) -> AsyncIterator[ApiClient]:
    """``plugins`` are registered instead of the installed connectors (none by default)."""
    settings.setdefault("scheduler", "off")
    app = create_app(
        Settings(database_url=str(engine.url.render_as_string(hide_password=False)), **settings),
        engine=engine,
        plugins=create_plugin_manager(load_entrypoints=False, plugins=plugins),
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield ApiClient(http, app)
