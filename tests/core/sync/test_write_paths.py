"""The writer stores the same rows whichever way a page travels: PostgreSQL's JSON document
(core.sync.pgcopy), its binary COPY (pages JSON cannot carry as they are), and SQLite's
executemany. One page of awkward values is written, rewritten unchanged, and edited; the
stored rows are checked value by value on both backends, and on PostgreSQL the two paths'
rows are compared column by column."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest
from asyncpg import PostgresError
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

import core.sync.pgcopy as pgcopy
from core.models import Activity, Connection, Currency, Deal, Stage
from core.sync.batches import fields_of, group
from core.sync.records import (
    ActivityRecord,
    AnyRecord,
    CurrencyRecord,
    DealRecord,
    StageRecord,
)
from core.sync.upsert import RecordWriter, WriteCounts, table_of
from tests.core.metrics.factory import Seed

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
TEXT = 'Ünïcode ☕ "quoted" \\ back\nslash\ttab'
REMOTE = {"id": "d1", "nested": {"list": [1, 2.5, None, True, "é"], "empty": {}}, "big": 2**62}


def _page() -> list[AnyRecord]:
    return [
        DealRecord(
            remote_id="d1",
            name=TEXT,
            amount=Decimal("1234.5678"),
            currency="EUR",
            remote_created_at=datetime(2026, 3, 29, 3, 30, 15, 250000, tzinfo=BERLIN),
            closed_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
            expected_close_date=date(2026, 2, 28),
            probability=0.1,
            status="WON",
            recurring_amount=Decimal("0.0001"),
            cost=Decimal("-7"),
            remote_data=REMOTE,
            custom={"tier": "gold", "score": 3, "tags": ["a", "b"]},
        ),
        DealRecord(remote_id="d2", deleted=True),
        DealRecord(remote_id="d3", name="first read"),
        DealRecord(remote_id="d3", name="read again: the last one wins", amount=Decimal("5")),
        ActivityRecord(
            remote_id="a1",
            type="MEETING",
            subject="",
            due_at=datetime(2026, 4, 1, 9, tzinfo=BERLIN),
            done_at=None,
            meeting_status="HELD",
            deal_remote_id="d1",
        ),
        StageRecord(remote_id="s1", name="Won", display_order=7, probability=1.0, is_won=True),
        CurrencyRecord(remote_id="EUR", code="EUR", decimals=2, active=False, is_custom=True),
    ]


_TABLES = (Deal, Activity, Stage, Currency)


async def _stored(session: AsyncSession, connection_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every stored row of the connection, without the columns that differ by connection."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for model in _TABLES:
        table: Any = model.__table__
        columns = [c for c in table.c if c.name not in ("id", "connection_id", "workspace_id")]
        result = await session.execute(
            select(*columns)
            .where(table.c.connection_id == connection_id)
            .order_by(table.c.remote_id)
        )
        rows[table.name] = [dict(row) for row in result.mappings()]
        # SQL NULL, not a JSON null (which reads back as None too)
        nulls = select(func.count()).where(
            table.c.connection_id == connection_id, table.c.remote_data.is_(None)
        )
        rows[table.name].append({"remote_data IS NULL": await session.scalar(nulls)})
    return rows


def _by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["remote_id"]: row for row in rows if "remote_id" in row}


def _check_values(stored: dict[str, list[dict[str, Any]]], dialect: str) -> None:
    deals = _by_id(stored["deals"])
    assert set(deals) == {"d1", "d2", "d3"}
    d1 = deals["d1"]
    assert d1["name"] == TEXT
    assert d1["amount"] == Decimal("1234.5678") and d1["cost"] == Decimal("-7")
    assert d1["recurring_amount"] == Decimal("0.0001")
    assert d1["remote_created_at"] == datetime(2026, 3, 29, 1, 30, 15, 250000, tzinfo=UTC)
    assert d1["closed_at"] == datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert d1["expected_close_date"] == date(2026, 2, 28)
    assert d1["probability"] == 0.1
    assert d1["remote_data"] == REMOTE
    assert d1["custom"] == {"tier": "gold", "score": 3, "tags": ["a", "b"]}
    assert d1["deleted_at"] is None and d1["synced_at"] == NOW
    assert deals["d2"]["deleted_at"] == NOW and deals["d2"]["status"] == "OPEN"
    assert deals["d2"]["remote_data"] is None and deals["d2"]["amount"] is None
    assert deals["d3"]["name"] == "read again: the last one wins"
    # d2 and d3 have none: SQL NULL on PostgreSQL (as main's COPY wrote it), where
    # SQLAlchemy's JSON type on SQLite writes a JSON null
    assert stored["deals"][-1] == {"remote_data IS NULL": 2 if dialect == "postgresql" else 0}
    a1, _ = stored["activities"]
    assert a1["subject"] == "" and a1["done_at"] is None
    assert a1["due_at"] == datetime(2026, 4, 1, 7, tzinfo=UTC)
    s1, _ = stored["stages"]
    assert (s1["display_order"], s1["probability"], s1["is_won"], s1["is_closed"]) == (
        7,
        1.0,
        True,
        False,
    )
    eur, _ = stored["currencies"]
    assert (eur["decimals"], eur["active"], eur["is_custom"]) == (2, False, True)


async def _write_three_times(
    engine: AsyncEngine, writer: RecordWriter
) -> tuple[WriteCounts, WriteCounts, WriteCounts]:
    """The page, the same page again, then the page with one deal edited."""
    later = NOW + timedelta(hours=1)
    async with engine.begin() as conn:
        first = await writer.write_page(conn, _page(), NOW)
    async with engine.begin() as conn:
        again = await writer.write_page(conn, _page(), later)
    edited = _page()
    edited[0].amount = Decimal("1")  # type: ignore[union-attr]
    async with engine.begin() as conn:
        third = await writer.write_page(conn, edited, later)
    async with engine.begin() as conn:  # back as first written, for the value checks
        await writer.write_page(conn, _page(), NOW)
    return first, again, third


def _refuse(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("this path must not be taken")


async def test_every_path_stores_the_same_rows(
    engine: AsyncEngine, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = await Seed.create(session)
    paths: dict[str, Connection] = {"document": seed.connection}
    if engine.dialect.name == "postgresql":
        paths["split"] = await seed.add_connection("split")
        paths["copy"] = await seed.add_connection("copy")
    await session.commit()
    stored = {}
    for path, connection in paths.items():
        with monkeypatch.context() as patch:
            if path in ("document", "split"):
                patch.setattr(pgcopy, "copy_upsert", _refuse)
                if path == "split":  # a document per row
                    patch.setattr(pgcopy, "DOCUMENT_BYTES", 1)
            else:
                patch.setattr(pgcopy, "_documents", lambda batch, table: None)
                patch.setattr(pgcopy, "_json_upsert", _refuse)
            writer = RecordWriter(
                workspace_id=seed.workspace.id, connection_id=connection.id, source="hubspot"
            )
            first, again, third = await _write_three_times(engine, writer)
        assert (first.inserted, first.updated, first.unchanged) == (6, 0, 0)
        assert (again.inserted, again.updated, again.unchanged) == (0, 0, 6)
        assert (third.inserted, third.updated, third.unchanged) == (0, 1, 5)
        stored[path] = await _stored(session, connection.id)
        _check_values(stored[path], engine.dialect.name)
    for path in paths:
        assert stored[path] == stored["document"], path


async def test_a_page_json_cannot_carry_is_written_by_copy(
    engine: AsyncEngine, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = await Seed.create(session)
    await session.commit()
    writer = RecordWriter(
        workspace_id=seed.workspace.id, connection_id=seed.connection.id, source="hubspot"
    )
    monkeypatch.setattr(pgcopy, "_json_upsert", _refuse)
    records = [DealRecord(remote_id="d1", remote_data={"big": 2**70, "n": [1]})]
    async with engine.begin() as conn:
        counts = await writer.write_page(conn, records, NOW)
    assert counts.inserted == 1
    stored = await session.scalar(select(Deal.remote_data))
    assert stored == {"big": 2**70, "n": [1]}


def _document(*records: AnyRecord) -> bytes | None:
    (batch,) = group(records, workspace_id="w", connection_id="c", now=NOW)[0].values()
    documents = pgcopy._documents(batch, table_of(type(batch.records[0])))
    if documents is None:
        return None
    (document,) = documents
    return document


@pytest.mark.parametrize(
    "record",
    [
        DealRecord(remote_id="d", probability=math.nan),
        StageRecord(remote_id="s", probability=math.inf),
        DealRecord(remote_id="d", remote_data={"big": 2**64}),
        DealRecord(remote_id="d", custom={1: "an integer key"}),  # type: ignore[dict-item]
        DealRecord(remote_id="d", custom={"a set": {1}}),
        DealRecord(remote_id="d", name="\ud800"),
    ],
    ids=["nan", "infinity", "big-int", "int-key", "set", "surrogate"],
)
def test_values_json_cannot_carry_as_they_are_send_the_page_to_copy(record: AnyRecord) -> None:
    fine = type(record)(remote_id="ok")  # type: ignore[call-arg]
    assert _document(fine) is not None
    assert _document(fine, record) is None  # one such value sends the whole page


def test_the_document_carries_exact_decimals_and_instants_with_their_offset() -> None:
    document = _document(
        DealRecord(
            remote_id="d",
            amount=Decimal("10.50"),
            closed_at=datetime(2026, 1, 1, 1, tzinfo=BERLIN),
            remote_created_at=datetime(2026, 1, 1, 1),  # naive: read as UTC
            expected_close_date=date(2026, 1, 31),
        )
    )
    assert document is not None
    (row,) = orjson.loads(document)
    values = dict(zip((*fields_of(DealRecord), "deleted"), row, strict=True))
    assert values["amount"] == "10.50"
    assert values["closed_at"] == "2026-01-01T01:00:00+01:00"
    assert values["remote_created_at"] == "2026-01-01T01:00:00+00:00"
    assert values["expected_close_date"] == "2026-01-31"
    assert values["deleted"] is False and values["remote_data"] is None


async def test_text_longer_than_its_column_fails_the_page_on_postgresql_whatever_the_path(
    engine: AsyncEngine, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not cut short silently (an explicit varchar(n) cast would): the mapping's text check
    quarantines such records before they reach the writer; SQLite stores them as they are."""
    seed = await Seed.create(session)
    await session.commit()
    writer = RecordWriter(
        workspace_id=seed.workspace.id, connection_id=seed.connection.id, source="hubspot"
    )
    records = [DealRecord(remote_id="d1", currency="EURO")]  # deals.currency is varchar(3)
    if engine.dialect.name == "sqlite":
        async with engine.begin() as conn:
            await writer.write_page(conn, records, NOW)
        assert await session.scalar(select(Deal.currency)) == "EURO"
        return
    for document in (True, False):
        with monkeypatch.context() as patch:
            if not document:
                patch.setattr(pgcopy, "_documents", lambda batch, table: None)
            with pytest.raises((DBAPIError, PostgresError), match="too long"):
                async with engine.begin() as conn:
                    await writer.write_page(conn, records, NOW)
    assert await session.scalar(select(func.count()).select_from(Deal)) == 0


def test_a_large_page_is_sent_as_several_documents_of_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [(f"r{i}", "x" * (i % 7), i) for i in range(50)]
    whole = orjson.dumps(rows)
    monkeypatch.setattr(pgcopy, "DOCUMENT_BYTES", len(whole) // 5)
    documents = pgcopy._encoded(rows)
    assert len(documents) >= 5
    assert all(len(d) <= pgcopy.DOCUMENT_BYTES for d in documents)
    assert [tuple(r) for d in documents for r in orjson.loads(d)] == rows
    monkeypatch.setattr(pgcopy, "DOCUMENT_BYTES", 1)  # too small for any row: one row each
    assert len(pgcopy._encoded(rows)) == len(rows)
