"""Importing each kind into both databases: all or nothing, idempotent on re-import."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFoundError
from core.imports import IMPORT_KINDS, ImportRejected, import_csv
from core.models import Spend, SurveyResponse, Visitors, Workspace
from core.organizations import create_organization, create_workspace

SPEND_CSV = (
    "day,kind,channel,campaign,amount,currency\n"
    "2026-03-01,MARKETING,ads,spring,1000,\n"
    "2026-03-01,SALES,,,250.25,USD\n"
    "2026-03-02,MARKETING,ads,spring,500,EUR\n"
)


async def _workspace(session: AsyncSession, timezone: str = "Europe/Madrid") -> str:
    org = await create_organization(session, "Acme")
    ws = await create_workspace(
        session, organization_id=org.id, name="EU", timezone=timezone, currency="EUR"
    )
    await session.commit()
    return ws.id


async def test_spend_import_is_idempotent_and_updates_in_place(session: AsyncSession) -> None:
    ws = await _workspace(session)
    for _ in range(2):
        result = await import_csv(session, IMPORT_KINDS["spend"], ws, SPEND_CSV)
        await session.commit()
        assert result.rows == 3
    assert await session.scalar(select(func.count()).select_from(Spend)) == 3
    # Each import bumps the data version that keys cached metric results.
    assert await session.scalar(select(Workspace.data_version).where(Workspace.id == ws)) == 2
    changed = SPEND_CSV.replace("500,EUR", "700,EUR")
    await import_csv(session, IMPORT_KINDS["spend"], ws, changed)
    await session.commit()
    rows = (
        await session.execute(select(Spend.day, Spend.kind, Spend.amount, Spend.currency))
    ).all()
    assert sorted(rows) == [
        (date(2026, 3, 1), "MARKETING", Decimal("1000"), "EUR"),  # workspace currency
        (date(2026, 3, 1), "SALES", Decimal("250.25"), "USD"),
        (date(2026, 3, 2), "MARKETING", Decimal("700"), "EUR"),
    ]


async def test_a_bad_row_leaves_nothing_imported(session: AsyncSession) -> None:
    ws = await _workspace(session)
    await import_csv(session, IMPORT_KINDS["visitors"], ws, "day,visitors\n2026-03-01,10\n")
    await session.commit()
    bad = "day,channel,visitors\n2026-03-01,,99\n2026-03-02,seo,12\n2026-03-03,seo,many\n"
    with pytest.raises(ImportRejected) as caught:
        await import_csv(session, IMPORT_KINDS["visitors"], ws, bad)
    await session.rollback()
    assert [(e.line, e.reason) for e in caught.value.errors] == [
        (4, "visitors: 'many' is not a whole number")
    ]
    rows = (await session.execute(select(Visitors.day, Visitors.channel, Visitors.count))).all()
    assert rows == [(date(2026, 3, 1), "", 10)]


async def test_survey_times_without_offset_are_workspace_local(session: AsyncSession) -> None:
    ws = await _workspace(session, timezone="Europe/Madrid")
    text = (
        "id,kind,responded_at,score,account_id,contact_email\n"
        "r1,NPS,2026-03-31T23:30:00,9,acc-1,Ann@Example.com\n"
        "r2,CSAT,2026-07-01T08:00:00+00:00,4,,\n"
        "r3,NPS,2026-01-15,3,,\n"
    )
    assert (await import_csv(session, IMPORT_KINDS["surveys"], ws, text)).rows == 3
    await session.commit()
    await import_csv(session, IMPORT_KINDS["surveys"], ws, text)
    await session.commit()
    rows = {r.external_id: r for r in (await session.scalars(select(SurveyResponse))).all()}
    assert len(rows) == 3
    # 23:30 in Madrid on 31 March (summer time, UTC+2) is 21:30 UTC the same day.
    assert rows["r1"].responded_at == datetime(2026, 3, 31, 21, 30, tzinfo=UTC)
    assert rows["r1"].contact_email == "ann@example.com"
    assert rows["r1"].account_remote_id == "acc-1"
    assert rows["r2"].responded_at == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert rows["r2"].account_remote_id is None and rows["r2"].contact_email is None
    assert rows["r3"].responded_at == datetime(2026, 1, 14, 23, 0, tzinfo=UTC)


async def test_imports_are_kept_per_workspace(session: AsyncSession) -> None:
    first = await _workspace(session)
    second = await _workspace(session)
    for ws in (first, second):
        await import_csv(session, IMPORT_KINDS["spend"], ws, SPEND_CSV)
    await session.commit()
    per_workspace = (
        await session.execute(select(Spend.workspace_id, func.count()).group_by(Spend.workspace_id))
    ).all()
    assert sorted(per_workspace) == sorted([(first, 3), (second, 3)])


async def test_unknown_workspace(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError, match="ws_nope"):
        await import_csv(session, IMPORT_KINDS["spend"], "ws_nope", SPEND_CSV)
