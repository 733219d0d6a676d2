"""The request session: separate readers on PostgreSQL only, scoped to the same viewer."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.session import SerialSession
from core.models import Deal
from core.models.enums import Role
from core.tenancy import Viewer, tenant_session
from tests.support.records import create_tenant


async def test_readers_see_what_the_viewer_sees(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with sessionmaker() as setup:
        acme = await create_tenant(setup, "acme", workspaces=2, deals=3)
        await create_tenant(setup, "other", workspaces=1, deals=4)
        await setup.commit()
    viewer = Viewer("k", acme.org_id, Role.VIEWER, frozenset(acme.workspace_ids[:1]))
    count = select(func.count()).select_from(Deal)
    async with tenant_session(sessionmaker, viewer) as raw:
        session = SerialSession(raw, readers=sessionmaker)
        on_session = await session.scalar(count)
        postgres = raw.bind is not None and raw.bind.dialect.name == "postgresql"
        assert session.concurrent_reads is postgres
        if postgres:
            async with session.reader() as own:
                assert own is not raw
                assert await own.scalar(count) == on_session
    assert on_session == 3  # one workspace of acme, none of the other tenant
    assert SerialSession(raw).concurrent_reads is False  # no readers given
