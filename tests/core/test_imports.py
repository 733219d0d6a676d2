"""CSV imports: validation names the line and column; rows upsert on their natural key."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationError
from core.imports import ImportKind, import_csv, parse_csv
from core.models import Spend, Workspace
from core.organizations import create_organization, create_workspace

SPEND = "day,kind,amount,currency,channel\n2026-01-01,marketing,100.50,EUR,ads\n"


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (ImportKind.SPEND, "day,kind,amount\n", "needs the column(s) currency"),
        (ImportKind.SPEND, SPEND.replace("ads", "ads,x").replace("channel", "channel,oops"),
         "unknown column 'oops'"),
        (ImportKind.SPEND, SPEND.replace("2026-01-01", "2026-02-30"), "line 2: day '2026-02-30'"),
        (ImportKind.SPEND, SPEND.replace("100.50", "-3"), "must be a non-negative amount"),
        (ImportKind.SPEND, SPEND.replace("EUR", "euro"), "invalid currency 'euro'"),
        (ImportKind.SPEND, SPEND.replace("marketing", "tv"), "must be one of MARKETING, SALES"),
        (ImportKind.VISITORS, "day,count\n2026-01-01,\n", "line 2: count is empty"),
        (ImportKind.SURVEYS, "kind,external_id,responded_at,score\nNPS,1,2026-01-01T10:00:00,9\n",
         "needs a timezone offset"),
        (ImportKind.SURVEYS, "kind,external_id,responded_at,score\nCSAT,1,2026-01-01T10:00Z,6\n",
         "a CSAT score is 1..5"),
    ],
)  # fmt: skip
def test_bad_rows_are_named(kind: ImportKind, text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_csv(kind, text, "ws")


async def test_import_twice_replaces_and_bumps_the_data_version(session: AsyncSession) -> None:
    org = await create_organization(session, "Acme")
    ws = await create_workspace(session, organization_id=org.id, name="A")
    assert await import_csv(session, ImportKind.SPEND, SPEND, workspace_id=ws.id) == 1
    corrected = SPEND.replace("100.50", "120")
    assert await import_csv(session, ImportKind.SPEND, corrected, workspace_id=ws.id) == 1
    await session.commit()
    rows = (await session.scalars(select(Spend))).all()
    assert [(r.kind, r.channel, r.campaign, r.amount) for r in rows] == [
        ("MARKETING", "ads", "", Decimal("120.0000"))
    ]
    version = await session.scalar(select(Workspace.data_version).where(Workspace.id == ws.id))
    assert version == 2
