"""`crmkpi import fx`, and the rates it stores converting money in SQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationError
from core.metrics.fx import parse_fx_csv, store_fx
from core.models import FxRate
from tests.support.cli import crmkpi


def test_parse_rows_with_header_default_base_and_precise_errors() -> None:
    rows = parse_fx_csv(
        "day,currency,rate,base\n2026-03-01,usd,0.9,EUR\n2026-03-02,GBP,1.2\n", "EUR"
    )
    assert [(r.day, r.currency, str(r.rate), r.base) for r in rows] == [
        (date(2026, 3, 1), "USD", "0.9", "EUR"),
        (date(2026, 3, 2), "GBP", "1.2", "EUR"),
    ]
    with pytest.raises(ValidationError, match=r"line 2: .* not an ISO date"):
        parse_fx_csv("2026-03-01,USD,1\n2026-13-01,USD,1\n", "EUR")
    with pytest.raises(ValidationError, match="line 1: the rate must be positive"):
        parse_fx_csv("2026-03-01,USD,-1\n", "EUR")
    with pytest.raises(ValidationError, match="no base currency"):
        parse_fx_csv("2026-03-01,USD,1\n", None)


async def test_store_replaces_rates_of_the_same_day(session: AsyncSession) -> None:
    await store_fx(session, parse_fx_csv("2026-03-01,USD,0.9\n", "EUR"), None)
    await store_fx(session, parse_fx_csv("2026-03-01,USD,0.8\n2026-03-02,USD,0.7\n", "EUR"), None)
    await session.commit()
    rates = (await session.scalars(select(FxRate).order_by(FxRate.day))).all()
    assert [(r.day.day, float(r.rate), r.workspace_id) for r in rates] == [
        (1, 0.8, None),
        (2, 0.7, None),
    ]


def test_import_fx_command(database_url: str, tmp_path: Path) -> None:
    env = {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}
    if "postgresql" in database_url:
        assert crmkpi("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    csv_file = tmp_path / "fx.csv"
    csv_file.write_text("day,currency,rate\n2026-03-01,USD,0.9\n2026-03-02,GBP,1.1\n")
    ok = crmkpi("import", "fx", str(csv_file), "--base", "EUR", "--json", env=env, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert '"imported": 2' in ok.stdout
    csv_file.write_text("2026-03-01,USD,abc\n")
    bad = crmkpi("import", "fx", str(csv_file), "--base", "EUR", env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "line 1" in bad.stderr
