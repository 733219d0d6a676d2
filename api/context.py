"""The typed per-request context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass, field

import pluggy
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.fastapi import BaseContext

from api.background import SyncLauncher
from api.errors import AuthenticationError
from api.loaders import Loaders
from api.session import SerialSession
from api.status_loaders import StatusLoaders
from core.settings import Settings
from core.tenancy import Viewer


@dataclass
class Context(BaseContext):
    """``session`` is scoped to ``viewer`` (core.tenancy) and serialised (api.session);
    ``loaders`` are built per request on that session (api.loaders)."""

    session: SerialSession
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings
    plugins: pluggy.PluginManager
    viewer: Viewer | None
    syncs: SyncLauncher | None = None
    loaders: Loaders = field(init=False)
    status: StatusLoaders = field(init=False)

    def __post_init__(self) -> None:
        super().__init__()
        self.loaders = Loaders.create(self.session)
        self.status = StatusLoaders.create(self.session)

    def require_viewer(self) -> Viewer:
        if self.viewer is None:
            raise AuthenticationError(
                "missing or invalid API key: send 'Authorization: Bearer <api key>'"
            )
        return self.viewer
