"""The best hand-written SQL for churn, retention and MRR with comparison, on the product's
own schema (the maintained ``customer_stretches``, its ``prev_end_day``, the partial
covering index of recurring contracts): every number the three KPIs and their comparison
need, as one statement (:func:`run`, one round trip) or as its two scans at once on two
connections (:func:`run_parallel`).

- stretches: one pass of the workspace's stretches not ended before the earlier period
  (``ix_customer_stretches_ws_days``), conditional counts per period: active on the day
  before it, lost in it, retained (active on its last day, and on the day before it in this
  stretch or, looked up only when the previous stretch ends after that day, an earlier one);
- MRR: one pass of the workspace's recurring contracts (``ix_deals_ws_recurring``,
  index-only), a conditional sum per period. The bench data has one currency, the reporting
  one, so no FX.

:func:`numbers` reads the same figures from the product's GraphQL answer, so the bench
checks both sides equal before it reports a timing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.metrics.periods import to_utc

_EPOCH = date(1970, 1, 1).toordinal()

_RETAINED = """count(*) FILTER (WHERE start_day <= :t{n} AND end_day > :t{n} AND (
        start_day <= :b{n} OR prev_end_day IS NOT NULL AND prev_end_day > :b{n} AND EXISTS (
            SELECT 1 FROM customer_stretches e
            WHERE e.connection_id = s.connection_id AND e.customer = s.customer
                AND e.start_day <= :b{n} AND e.end_day > :b{n} AND e.start_day < s.start_day)))"""
_MRR = """sum(recurring_amount) FILTER (WHERE
        (contract_start <= :last{n} OR contract_start IS NULL AND closed_at < :end{n})
        AND (contract_end IS NULL OR contract_end >= :last{n}))"""


def _stretch_cells(n: int) -> str:
    return (
        f"count(*) FILTER (WHERE start_day <= :b{n} AND end_day > :b{n}) AS active{n}, "
        f"count(*) FILTER (WHERE end_day >= :s{n} AND end_day <= :t{n}) AS lost{n}, "
        f"{_RETAINED.format(n=n)} AS retained{n}"
    )


STRETCHES = f"""
SELECT {_stretch_cells(0)}, {_stretch_cells(1)}
FROM customer_stretches s
WHERE workspace_id = :ws AND end_day > :b0
"""
CONTRACTS = f"""
SELECT {_MRR.format(n=0)} AS mrr0, {_MRR.format(n=1)} AS mrr1
FROM deals
WHERE workspace_id = :ws AND status = 'WON' AND recurring_amount IS NOT NULL
    AND deleted_at IS NULL
"""
#: Both in one statement: one round trip.
SQL = f"SELECT * FROM ({STRETCHES}) AS stretches, ({CONTRACTS}) AS contracts"


@dataclass(frozen=True)
class Figures:
    """Per period (previous, then the period): customers active on the day before it, lost
    in it, retained through it; MRR on its last day."""

    active: tuple[int, int]
    lost: tuple[int, int]
    retained: tuple[int, int]
    mrr: tuple[float, float]


def _day(day: date) -> int:
    return day.toordinal() - _EPOCH


def parameters(ws: str, periods: tuple[tuple[date, date], ...], timezone: str) -> dict[str, Any]:
    """Bound values of :data:`SQL` for two (first day, end day exclusive) periods read as
    closed (their stock day is their last day)."""
    values: dict[str, Any] = {"ws": ws}
    for n, (first, end) in enumerate(periods):
        last = end - timedelta(days=1)
        values |= {
            f"b{n}": _day(first) - 1,
            f"s{n}": _day(first),
            f"t{n}": _day(last),
            f"last{n}": last,
            f"end{n}": to_utc(end, timezone),
        }
    return values


def _figures(row: Mapping[str, Any]) -> Figures:
    def money(value: Decimal | None) -> float:
        return float(value or 0)

    return Figures(
        active=(row["active0"], row["active1"]),
        lost=(row["lost0"], row["lost1"]),
        retained=(row["retained0"], row["retained1"]),
        mrr=(money(row["mrr0"]), money(row["mrr1"])),
    )


async def run(conn: AsyncConnection, values: dict[str, Any]) -> Figures:
    """One statement on one connection."""
    return _figures((await conn.execute(text(SQL), values)).one()._mapping)


async def run_parallel(engine: AsyncEngine, values: dict[str, Any]) -> Figures:
    """The stretches and the contracts at once, on two pooled connections (as the product
    runs a batch's statements on PostgreSQL)."""

    async def one(sql: str) -> Mapping[str, Any]:
        async with engine.connect() as conn:
            return (await conn.execute(text(sql), values)).one()._mapping

    stretches, contracts = await asyncio.gather(one(STRETCHES), one(CONTRACTS))
    return _figures({**stretches, **contracts})


def numbers(data: dict[str, Any]) -> Figures:
    """The same figures from the product's answer (``metrics`` of the lifecycle query)."""
    churn, retention, mrr = (data[k] for k in ("customerChurnRate", "customerRetentionRate", "mrr"))
    # The comparison carries only the previous period's value: its counts are recovered
    # from the ratios and checked against the hand-written counts by the caller.
    return Figures(
        active=(-1, int(churn["denominator"])),
        lost=(-1, int(churn["numerator"])),
        retained=(-1, int(retention["numerator"])),
        mrr=(float(mrr["comparison"]["value"]), float(mrr["value"])),
    )


def mismatches(data: dict[str, Any], hand: Figures) -> list[str]:
    """Where the product's answer and the hand-written figures differ (empty: equal)."""
    got = numbers(data)
    out = []
    for name in ("active", "lost", "retained"):
        if getattr(got, name)[1] != getattr(hand, name)[1]:
            out.append(f"{name}: product {getattr(got, name)[1]} != SQL {getattr(hand, name)[1]}")
    churn, retention = data["customerChurnRate"], data["customerRetentionRate"]
    previous = {
        "churn": (churn["comparison"]["value"], hand.lost[0] / hand.active[0]),
        "retention": (retention["comparison"]["value"], hand.retained[0] / hand.active[0]),
    }
    for name, (product, sql) in previous.items():
        if product is None or abs(product - sql) > 1e-12:
            out.append(f"previous {name}: product {product} != SQL {sql}")
    for n in (0, 1):
        if abs(got.mrr[n] - hand.mrr[n]) > 1e-6 * max(1.0, abs(hand.mrr[n])):
            out.append(f"mrr[{n}]: product {got.mrr[n]} != SQL {hand.mrr[n]}")
    return out
