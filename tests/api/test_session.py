"""The request session: separate readers on PostgreSQL only, scoped to the same viewer;
its connections start under the statement timeout, without a SET per transaction."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from api.session import RequestSessions, SerialSession
from core.db import StatementTimeout
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


async def test_request_connections_start_under_the_timeout(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    requests = RequestSessions(engine, 0.25)
    if engine.dialect.name != "postgresql":  # SQLite: the per-statement Deadline instead
        assert requests.engine is engine
        assert requests.serial(requests.sessionmaker()).statement_timeout == 0.25
        return
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(requests.engine.sync_engine, "before_cursor_execute", record)
    show = text("SHOW statement_timeout")
    slow = text("SELECT pg_sleep(5)")
    try:
        assert requests.engine is not engine  # a pool of its own
        async with requests.sessionmaker() as raw:
            session = requests.serial(raw)
            assert await session.scalar(show) == "250ms"
            async with session.reader() as reader:
                assert (await reader.execute(show)).scalar() == "250ms"
                own = await (await reader.session.connection()).get_raw_connection()
                assert not own.driver_connection.is_in_transaction()  # autocommit: no BEGIN
                with pytest.raises(StatementTimeout):
                    await reader.execute(slow)
            with pytest.raises(StatementTimeout):
                await session.execute(slow)
            assert await session.write(lambda s: s.scalar(show)) == "0"  # writes lift it
            assert await session.scalar(show) == "250ms"  # for their transaction only
        # no round trip to set it: the only SET is the write's, lifting it
        assert [s for s in sent if s.startswith("SET")] == ["SET LOCAL statement_timeout = 0"]
        async with sessionmaker() as writer:  # writers, syncs and the CLI: unlimited
            assert await writer.scalar(show) == "0"
    finally:
        await requests.close()
