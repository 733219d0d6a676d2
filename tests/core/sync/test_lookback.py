"""The per-connection look-back window reaches every stream's incremental read."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import ValidationError
from core.models import Connection
from core.models.enums import SyncStatus
from core.sync.connections import check_lookback
from core.sync.connector import DEFAULT_LOOKBACK, MAX_LOOKBACK_MINUTES, StreamContext
from tests.support.syncing import ConnectionFactory, Syncer


@pytest.fixture
def lookbacks(monkeypatch: pytest.MonkeyPatch) -> list[timedelta]:
    """The look-back of every incremental lower bound a stream asks for."""
    seen: list[timedelta] = []
    original = StreamContext.since

    def since(self: StreamContext) -> Any:
        if self.start_cursor is not None:
            seen.append(self.lookback)
        return original(self)

    monkeypatch.setattr(StreamContext, "since", since)
    return seen


async def _set_lookback(
    sessionmaker: async_sessionmaker[AsyncSession], connection_id: str, minutes: int | None
) -> None:
    async with sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        connection.lookback_minutes = minutes
        await session.commit()


@pytest.mark.parametrize("minutes", [None, 0, 90])
async def test_incremental_reads_go_back_by_the_connection_lookback(
    sessionmaker: async_sessionmaker[AsyncSession],
    serve_simulator: Any,
    make_connection: ConnectionFactory,
    sync: Syncer,
    lookbacks: list[timedelta],
    minutes: int | None,
) -> None:
    connection = await make_connection(serve_simulator())
    await _set_lookback(sessionmaker, connection.id, minutes)
    assert (await sync(connection.id)).status is SyncStatus.SUCCEEDED
    assert lookbacks == []  # a first run reads everything
    assert (await sync(connection.id)).status is SyncStatus.SUCCEEDED
    expected = DEFAULT_LOOKBACK if minutes is None else timedelta(minutes=minutes)
    assert lookbacks and set(lookbacks) == {expected}


@pytest.mark.parametrize("minutes", [-1, MAX_LOOKBACK_MINUTES + 1])
def test_lookback_out_of_range_is_refused(minutes: int) -> None:
    with pytest.raises(ValidationError, match="look-back must be between 0 and 10080"):
        check_lookback(minutes)
