"""Importing what CRMs do not hold: spend, visitors and survey responses, from CSV text.

Every row is validated before anything is written, and an error names the line and the
column, so a bad file changes nothing. Rows are upserted on each table's natural key
(importing the same file twice changes nothing; a corrected file replaces the values).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from sqlalchemy import Table, update
from sqlalchemy.ext.asyncio import AsyncSession

from core import validation
from core.db import upsert
from core.errors import ValidationError
from core.models import Spend, SurveyResponse, Visitors, Workspace

MAX_ROWS = 50_000


class ImportKind(StrEnum):
    SPEND = "SPEND"
    VISITORS = "VISITORS"
    SURVEYS = "SURVEYS"


Parser = Callable[[str], Any]


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("needs a timezone offset, such as 2026-01-31T10:00:00+01:00")
    return parsed


def _money(value: str) -> Decimal:
    amount = Decimal(value)
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e15"):
        raise ValueError("must be a non-negative amount")
    return amount


def _count(value: str) -> int:
    number = int(value)
    if not 0 <= number < 2**31:
        raise ValueError("must be a non-negative count")
    return number


def _choice(*allowed: str) -> Parser:
    def parse(value: str) -> str:
        if value.upper() not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value.upper()

    return parse


def _text(limit: int) -> Parser:
    def parse(value: str) -> str:
        if len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return value

    return parse


@dataclass(frozen=True)
class _Format:
    table: Table
    #: column -> (parser, required); optional columns may be absent or empty
    columns: Mapping[str, tuple[Parser, bool]]
    key: tuple[str, ...]


FORMATS: dict[ImportKind, _Format] = {
    ImportKind.SPEND: _Format(
        Spend.__table__,  # type: ignore[arg-type]
        {
            "day": (_date, True),
            "kind": (_choice("MARKETING", "SALES"), True),
            "amount": (_money, True),
            "currency": (validation.currency, True),
            "channel": (_text(200), False),
            "campaign": (_text(200), False),
        },
        ("workspace_id", "day", "kind", "channel", "campaign"),
    ),
    ImportKind.VISITORS: _Format(
        Visitors.__table__,  # type: ignore[arg-type]
        {"day": (_date, True), "count": (_count, True), "channel": (_text(200), False)},
        ("workspace_id", "day", "channel"),
    ),
    ImportKind.SURVEYS: _Format(
        SurveyResponse.__table__,  # type: ignore[arg-type]
        {
            "kind": (_choice("NPS", "CSAT"), True),
            "external_id": (_text(255), True),
            "responded_at": (_instant, True),
            "score": (_count, True),
            "account_remote_id": (_text(255), False),
            "contact_email": (_text(300), False),
        },
        ("workspace_id", "kind", "external_id"),
    ),
}
_SCORES = {"NPS": range(0, 11), "CSAT": range(1, 6)}


def parse_csv(kind: ImportKind, text: str, workspace_id: str) -> list[dict[str, Any]]:
    """Validated rows ready to upsert; the first bad cell raises with its line and column."""
    fmt = FORMATS[kind]
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c, (_, required) in fmt.columns.items() if required and c not in header]
    if missing:
        raise ValidationError(f"{kind.value} CSV needs the column(s) {', '.join(missing)}")
    unknown = [h for h in header if h not in fmt.columns]
    if unknown:
        raise ValidationError(f"{kind.value} CSV has unknown column {unknown[0][:50]!r}")
    reader.fieldnames = header
    rows: list[dict[str, Any]] = []
    for raw in reader:
        line = reader.line_num
        if len(rows) >= MAX_ROWS:
            raise ValidationError(f"more than {MAX_ROWS} rows: split the file")
        row: dict[str, Any] = {"workspace_id": workspace_id}
        for column, (parse, required) in fmt.columns.items():
            value = (raw.get(column) or "").strip()
            if not value:
                if required:
                    raise ValidationError(f"line {line}: {column} is empty")
                row[column] = "" if column in ("channel", "campaign") else None
                continue
            try:
                row[column] = parse(value)
            except (ValueError, ValidationError, InvalidOperation) as exc:
                reason = str(exc) if isinstance(exc, ValidationError) else f"{exc}"
                raise ValidationError(f"line {line}: {column} {value[:40]!r}: {reason}") from None
        if kind is ImportKind.SURVEYS and row["score"] not in _SCORES[row["kind"]]:
            limits = _SCORES[row["kind"]]
            raise ValidationError(
                f"line {line}: a {row['kind']} score is {limits.start}..{limits.stop - 1}"
            )
        rows.append(row)
    return rows


async def import_csv(
    session: AsyncSession, kind: ImportKind, text: str, *, workspace_id: str
) -> int:
    """Validate all rows, then upsert them; the workspace's data version is bumped."""
    rows = parse_csv(kind, text, workspace_id)
    fmt = FORMATS[kind]
    if rows:
        await upsert(session, fmt.table, rows, conflict_columns=list(fmt.key))
        await session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(data_version=Workspace.data_version + 1)
            .execution_options(synchronize_session=False)
        )
    return len(rows)
