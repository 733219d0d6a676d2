"""The dialect-aware bulk upsert."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import among, upsert
from core.models import Deal, FxRate, Organization, Workspace
from core.sqlwrite import _upsert_statement


def _deal(remote_id: str, amount: str) -> dict[str, object]:
    return {
        "workspace_id": "ws_1",
        "connection_id": "conn_1",
        "remote_id": remote_id,
        "synced_at": datetime(2026, 1, 1, tzinfo=UTC),
        "amount": Decimal(amount),
        "currency": "EUR",
        "status": "OPEN",
    }


async def test_upsert_inserts_then_updates_on_conflict(session: AsyncSession) -> None:
    rows = [_deal(str(i), "10.5") for i in range(2500)]
    await upsert(session, Deal.__table__, rows, conflict_columns=["connection_id", "remote_id"])
    await upsert(
        session,
        Deal.__table__,
        [_deal("7", "99.25")],
        conflict_columns=["connection_id", "remote_id"],
    )
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(Deal)) == 2500
    amount = await session.scalar(select(Deal.amount).where(Deal.remote_id == "7"))
    assert amount == Decimal("99.25")


async def test_upsert_do_nothing_keeps_existing(session: AsyncSession) -> None:
    await upsert(
        session, Deal.__table__, [_deal("1", "1")], conflict_columns=["connection_id", "remote_id"]
    )
    await upsert(
        session,
        Deal.__table__,
        [_deal("1", "2")],
        conflict_columns=["connection_id", "remote_id"],
        update_columns=[],
    )
    assert await session.scalar(select(Deal.amount)) == Decimal("1")


async def test_timestamps_round_trip_as_utc(session: AsyncSession) -> None:
    org = Organization(name="Acme")
    session.add(org)
    await session.flush()
    session.add(Workspace(organization_id=org.id, name="EU", timezone="Europe/Madrid"))
    await session.flush()
    stamp = datetime.fromisoformat("2026-03-31T23:30:00+02:00")
    await upsert(
        session,
        Deal.__table__,
        [{**_deal("x", "1"), "closed_at": stamp}],
        conflict_columns=["connection_id", "remote_id"],
    )
    closed = await session.scalar(select(Deal.closed_at))
    assert closed == stamp and closed.tzinfo is not None
    assert closed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


async def test_among_matches_the_bound_ids_with_one_parameter(session: AsyncSession) -> None:
    rows = [_deal(str(i), "1") for i in range(5)]
    await upsert(session, Deal.__table__, rows, conflict_columns=["connection_id", "remote_id"])
    dialect = session.bind.dialect
    query = select(Deal.remote_id).where(among(dialect.name, Deal.__table__.c.remote_id))
    found = await session.scalars(query, {"ids": ["1", "3", "missing"]})
    assert sorted(found) == ["1", "3"]
    assert list(await session.scalars(query, {"ids": []})) == []
    sql = str(query.compile(dialect=dialect))
    if dialect.name == "postgresql":  # one array parameter, however many ids
        assert "= ANY (" in sql and sql.count("$") == 1


async def test_an_upsert_is_built_once_per_shape_and_kept_in_the_compiled_cache(
    session: AsyncSession,
) -> None:
    dialect = session.bind.dialect.name
    key = ("connection_id", "remote_id")
    shape = (dialect, Deal.__table__, tuple(_deal("1", "1")), key, ("amount",))
    statement = _upsert_statement(*shape)
    assert _upsert_statement(*shape) is statement
    assert statement._generate_cache_key() is not None
    await upsert(session, Deal.__table__, [_deal("1", "1")], conflict_columns=key)
    await upsert(
        session, Deal.__table__, [_deal("1", "2")], conflict_columns=key, update_columns=["amount"]
    )
    assert await session.scalar(select(Deal.amount)) == Decimal("2")


async def test_rows_without_a_column_that_has_a_python_default_get_it(
    session: AsyncSession,
) -> None:
    org = Organization(name="Acme")
    session.add(org)
    await session.flush()
    workspace = Workspace(organization_id=org.id, name="W")
    session.add(workspace)
    await session.flush()
    rate = {"workspace_id": workspace.id, "base_currency": "EUR", "currency": "USD"}
    key = ["workspace_id", "base_currency", "currency", "day"]
    day = datetime(2026, 1, 1).date()
    await upsert(session, FxRate.__table__, [{**rate, "day": day, "rate": 1}], conflict_columns=key)
    await upsert(
        session,
        FxRate.__table__,
        [{**rate, "day": day, "rate": 2, "source": "sync"}],
        conflict_columns=key,
    )
    stored = (await session.execute(select(FxRate.rate, FxRate.source))).one()
    assert tuple(stored) == (Decimal("2"), "sync")
    other = datetime(2026, 1, 2).date()
    await upsert(
        session, FxRate.__table__, [{**rate, "day": other, "rate": 3}], conflict_columns=key
    )
    assert await session.scalar(select(FxRate.source).where(FxRate.day == other)) == "import"


async def test_rows_of_distinct_keys_are_one_execution_and_repeated_keys_keep_the_last(
    session: AsyncSession,
) -> None:
    """PostgreSQL binds the rows' values as one array per column (one execution, where an
    executemany ran once per row); rows repeating a key (one statement could not update a
    row twice) and JSON columns go row by row. Every dialect stores the same."""
    key = ["connection_id", "remote_id"]
    statements: list[str] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, many: bool) -> None:
        statements.append("many" if many else "one")

    engine = session.bind.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await upsert(
            session,
            Deal.__table__,
            [_deal(str(i), "1.5") for i in range(300)],
            conflict_columns=key,
        )
        one = list(statements)
        await upsert(
            session, Deal.__table__, [_deal("1", "2"), _deal("1", "3")], conflict_columns=key
        )
        await upsert(
            session,
            Deal.__table__,
            [{**_deal(str(i), "4"), "custom": {"i": i}} for i in range(2)],
            conflict_columns=key,
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    postgresql = engine.dialect.name == "postgresql"
    assert one == (["one"] if postgresql else ["many"])
    assert statements[len(one) :] == ["many", "many"]
    amounts = dict((await session.execute(select(Deal.remote_id, Deal.amount))).tuples().all())
    assert len(amounts) == 300 and amounts["299"] == Decimal("1.5")
    assert (amounts["0"], amounts["1"]) == (Decimal("4"), Decimal("4"))
    customs = await session.scalars(select(Deal.custom).where(Deal.remote_id.in_(["0", "1"])))
    assert sorted(c["i"] for c in customs) == [0, 1]
