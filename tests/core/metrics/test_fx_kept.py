"""FX tables kept per the workspaces' data versions (core.metrics.fx.load_fx_tables): a
request at the versions of an earlier one reads no rates; an import of rates, global ones
too, moves the versions, and the next request reads the new rates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.cache import read_versions, remember_versions
from core.metrics.fx import import_fx, load_fx_tables
from core.metrics.types import Frame
from core.models import Workspace
from tests.core.metrics.factory import Seed

MARCH = Frame(
    date(2026, 3, 1),
    date(2026, 4, 1),
    "UTC",
    datetime(2026, 3, 1, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
    datetime(2026, 4, 1, tzinfo=UTC),
)


class Counting:
    """The session, counting the statements load_fx_tables sends, with a request's info."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.info: dict[Any, Any] = {}
        self.statements = 0

    async def execute(self, statement: Any, params: Any = None) -> Any:
        self.statements += 1
        return await self.session.execute(statement, params)


async def _eur(session: AsyncSession, ws: str) -> tuple[float | None, int]:
    """EUR's factor on March 31 as a new request reads it, and the statements it sent."""
    request = Counting(session)
    remember_versions(request.info, await read_versions(session, [ws]))
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
    # Without the request's versions nothing is kept (always read).
    bare = Counting(session)
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
