"""Reference data kept per the workspaces' data versions (core.metrics.kept): FX tables,
workspace settings and targets. A request at the versions of an earlier one reads none of
them; every change (an import of rates, global ones too; a settings change; a target)
moves the versions, and the next request reads the new data. Without the request's
versions they are always read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.cache import read_versions, remember_versions
from core.metrics.fx import import_fx, load_fx_tables
from core.metrics.target_match import TargetKey, find_targets
from core.metrics.types import Frame
from core.metrics.workspace_settings import load_settings
from core.models import Workspace
from core.organizations import update_workspace
from core.targets import set_target
from tests.core.metrics.factory import Seed

MARCH = Frame(
    date(2026, 3, 1),
    date(2026, 4, 1),
    "UTC",
    datetime(2026, 3, 1, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
)


class Request:
    """A request's session: its info (the versions it read) and the statements it sends."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.info: dict[Any, Any] = {}
        self.statements = 0

    @classmethod
    async def at_versions(cls, session: AsyncSession, ws: str) -> Request:
        request = cls(session)
        remember_versions(request.info, await read_versions(session, [ws]))
        return request

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.statements += 1
        return await self.session.execute(statement, params)


async def _eur(session: AsyncSession, ws: str) -> tuple[float | None, int]:
    """EUR's factor on March 31 as a new request reads it, and the statements it sent."""
    request = await Request.at_versions(session, ws)
    tables = await load_fx_tables(request, [ws], "USD", {"UTC": [MARCH]})
    return tables["UTC"].factor_on("EUR", date(2026, 3, 31)), request.statements


async def test_fx_tables_are_kept_until_an_import_moves_the_versions(
    session: AsyncSession,
) -> None:
    seed = await Seed.create(session, currency="USD")
    ws = seed.workspace.id
    await import_fx(session, "2026-03-02,EUR,2\n", workspace_id=ws, base="USD")
    await session.commit()
    assert await _eur(session, ws) == (2.0, 1)
    assert await _eur(session, ws) == (2.0, 0)  # same versions: kept, no statement
    bare = Request(session)  # no versions read: always read
    await load_fx_tables(bare, [ws], "USD", {"UTC": [MARCH]})
    assert bare.statements == 1
    # A workspace's import moves its version.
    await import_fx(session, "2026-03-20,EUR,3\n", workspace_id=ws, base="USD")
    await session.commit()
    assert await _eur(session, ws) == (3.0, 1)
    # Global rates (the operator's CLI) move every workspace's version.
    before = await session.scalar(select(Workspace.data_version).where(Workspace.id == ws))
    await import_fx(session, "2026-03-25,EUR,4\n", workspace_id=None, base="USD")
    await session.commit()
    after = await session.scalar(select(Workspace.data_version).where(Workspace.id == ws))
    assert after == before + 1
    # The latest fixing (the global one of the 25th) is March 31's rate.
    assert await _eur(session, ws) == (4.0, 1)


async def test_settings_are_kept_until_a_change_moves_the_version(session: AsyncSession) -> None:
    seed = await Seed.create(session, timezone="Europe/Madrid", currency="EUR")
    ws = seed.workspace.id
    await session.commit()

    async def read() -> tuple[tuple[str, str], int]:
        request = await Request.at_versions(session, ws)
        found = await load_settings(request, [ws])
        return (found[ws].timezone, found[ws].currency), request.statements

    assert await read() == (("Europe/Madrid", "EUR"), 1)
    assert await read() == (("Europe/Madrid", "EUR"), 0)  # same versions: kept
    await update_workspace(session, ws, {"timezone": "America/New_York"})
    await session.commit()
    assert await read() == (("America/New_York", "EUR"), 1)
    # A workspace whose version the request has not read (one that does not exist): read.
    request = await Request.at_versions(session, ws)
    assert list(await load_settings(request, [ws, "ws_missing"])) == [ws]
    assert request.statements == 1


async def test_targets_are_kept_until_one_is_set(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    ws = seed.workspace.id
    march = TargetKey("dealsWon", date(2026, 3, 1), date(2026, 4, 1))
    await set_target(
        session, workspace_id=ws, kpi="dealsWon", start=march.start, end=march.end, value=5
    )
    await session.commit()

    async def read() -> tuple[dict[TargetKey, Any], int]:
        request = await Request.at_versions(session, ws)
        return await find_targets(request, ws, [march]), request.statements

    assert await read() == ({march: 5}, 1)
    assert await read() == ({march: 5}, 0)
    await set_target(
        session, workspace_id=ws, kpi="dealsWon", start=march.start, end=march.end, value=7
    )
    await session.commit()
    assert await read() == ({march: 7}, 1)
