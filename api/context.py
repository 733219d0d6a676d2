"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pluggy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext

from api.errors import AuthenticationError
from api.session import SerialSession
from core.settings import Settings
from core.tenancy import Viewer


@dataclass
class Context(BaseContext):
    """``session`` is scoped to ``viewer`` (core.tenancy) and serialised (api.session);
    ``loaders`` are per request."""

    session: SerialSession
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    plugins: pluggy.PluginManager
    viewer: Viewer | None
    loaders: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise AuthenticationError(
                "missing or invalid API key: send 'Authorization: Bearer <api key>'"
            )
        return self.viewer
