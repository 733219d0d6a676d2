"""core.metrics.known_values: a condition over a Known column has, on every row its bounds
describe, the value it has over the real column (folded or not)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, false, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics.known_values import Known
from core.models import Deal
from tests.core.metrics.factory import Seed, utc

INSTANTS = [utc(2026, 1, 1), utc(2026, 2, 1), utc(2026, 3, 1)]
OPERATORS: list[Callable[[Any, Any], Any]] = [
    lambda c, v: c >= v,
    lambda c, v: c > v,
    lambda c, v: c < v,
    lambda c, v: c <= v,
]


def _flag(condition: Any) -> Any:
    return case((condition, 1), else_=0)


async def test_folded_comparisons_equal_the_real_ones(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    created = utc(2025, 12, 1)
    for closed in [*INSTANTS, utc(2026, 1, 15), utc(2026, 2, 15), utc(2026, 4, 1)]:
        for status in ("WON", "LOST"):
            await seed.deal(status=status, remote_created_at=created, closed_at=closed)
    await seed.deal(status="OPEN", remote_created_at=created)
    await session.commit()
    bounds: list[tuple[datetime | None, datetime | None]] = [
        (None, None),
        (INSTANTS[0], None),
        (INSTANTS[1], None),
        (INSTANTS[0], INSTANTS[2]),
        (INSTANTS[1], INSTANTS[2]),
    ]
    folded_some = False
    for at_least, below in bounds:
        rows = [Deal.status.in_(["WON", "LOST"])]
        if at_least is not None:
            rows.append(Deal.closed_at >= at_least)
        if below is not None:
            rows.append(Deal.closed_at < below)
        known = Known(Deal.closed_at, at_least=at_least, below=below)
        for operator, value in itertools.product(OPERATORS, INSTANTS):
            folded, real = operator(known, value), operator(Deal.closed_at, value)
            folded_some |= folded is true() or folded is false() or str(folded) in ("true", "false")
            mismatches = await session.scalar(
                select(func.count()).where(and_(*rows), _flag(folded) != _flag(real))
            )
            assert mismatches == 0, (at_least, below, value)
    statuses = Known(Deal.status, among=["WON", "LOST"])
    for condition, real in [
        (statuses == "OPEN", Deal.status == "OPEN"),
        (statuses != "OPEN", Deal.status != "OPEN"),
        (statuses == "WON", Deal.status == "WON"),
        (statuses.in_(["WON", "LOST"]), Deal.status.in_(["WON", "LOST"])),
        (statuses.in_(["OPEN"]), Deal.status.in_(["OPEN"])),
        (statuses.in_(["WON"]), Deal.status.in_(["WON"])),
        (statuses.is_(None), Deal.status.is_(None)),
    ]:
        mismatches = await session.scalar(
            select(func.count()).where(
                Deal.status.in_(["WON", "LOST"]), _flag(condition) != _flag(real)
            )
        )
        assert mismatches == 0, str(condition)
    assert folded_some


def test_decided_comparisons_fold_and_the_rest_stay_real() -> None:
    closing = Known(Deal.status, among=["WON", "LOST"])
    assert str(closing == "OPEN") == "false"
    assert str(closing.in_(["WON", "LOST", "OPEN"])) == "true"
    assert "deals.status" in str(closing == "WON")
    late = Known(Deal.closed_at, at_least=INSTANTS[1])
    assert str(late >= INSTANTS[0]) == "true"
    assert str(late > INSTANTS[1]) != "true"  # a deal closed exactly then is not after it
    assert "deals.closed_at" in str(late > INSTANTS[1])
    assert str(Known(Deal.closed_at, below=INSTANTS[1]) >= INSTANTS[1]) == "false"
