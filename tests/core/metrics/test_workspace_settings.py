"""The executor's workspace settings kept per data versions
(core.metrics.workspace_settings): a request at the versions of an earlier one reads none;
a settings change moves the version and is read by the next request."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.cache import read_versions, remember_versions
from core.metrics.workspace_settings import WorkspaceSettings, load_settings
from core.organizations import update_workspace
from tests.core.metrics.factory import Seed


class Counting:
    """The session, counting statements, with a request's info."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.info: dict[Any, Any] = {}
        self.statements = 0

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.statements += 1
        return await self.session.execute(statement, params)


async def _read(session: AsyncSession, ws: str) -> tuple[WorkspaceSettings, int]:
    request = Counting(session)
    remember_versions(request.info, await read_versions(session, [ws]))
    found = await load_settings(request, [ws])
    assert list(found) == [ws]
    return found[ws], request.statements


async def test_settings_are_kept_until_a_change_moves_the_version(session: AsyncSession) -> None:
    seed = await Seed.create(session, timezone="Europe/Madrid", currency="EUR")
    ws = seed.workspace.id
    await session.commit()
    first, statements = await _read(session, ws)
    assert (first.timezone, first.currency, statements) == ("Europe/Madrid", "EUR", 1)
    assert await _read(session, ws) == (first, 0)  # same versions: kept
    await update_workspace(session, ws, {"timezone": "America/New_York"})
    await session.commit()
    changed, statements = await _read(session, ws)
    assert (changed.timezone, changed.currency, statements) == ("America/New_York", "EUR", 1)
    # Without the request's versions (or with a workspace it has none of), always read.
    bare = Counting(session)
    assert (await load_settings(bare, [ws]))[ws] == changed and bare.statements == 1
    request = Counting(session)
    remember_versions(request.info, await read_versions(session, [ws]))
    assert list(await load_settings(request, [ws, "ws_missing"])) == [ws]
    assert request.statements == 1
