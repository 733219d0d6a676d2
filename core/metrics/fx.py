"""FX: rates per currency and day, turned into SQL that converts amounts to one currency.

``fx_rates`` rows say ``1 currency = rate base_currency`` on a day, per workspace or global
(workspace rates win). The rate of a day is the latest rate at most :data:`LOOKBACK_DAYS`
before it (weekends and holidays carry the last fixing). A currency without a direct rate
to the reporting currency is converted through a common base currency.

Rates are reference data, not records: they are read once per request for the days the
request covers, then sent back as a ``CASE`` whose branches are UTC ranges of constant
rate (consecutive days with the same rate are merged), so the database converts each
amount at its own local date without converting timezones in SQL.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from sqlalchemy import Float, and_, delete, literal, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, case, null

from core.errors import NotFoundError, ValidationError
from core.metrics._sql import EPOCH_ORDINAL
from core.metrics.kept import KeptByVersions
from core.metrics.periods import to_utc
from core.metrics.query import Reader
from core.metrics.types import Frame
from core.models import FxRate, Workspace

#: How many days back a missing day's rate may be taken from.
LOOKBACK_DAYS = 31

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class FxTable:
    """Factors to the reporting currency per currency, as runs of local days.

    ``runs[currency]`` is a list of ``(first_day, last_day, factor)``; a day not in any
    run has no rate.
    """

    reporting: str
    timezone: str
    runs: dict[str, list[tuple[date, date, float]]] = field(default_factory=dict)

    def factor_on(self, currency: str, day: date) -> float | None:
        if currency == self.reporting:
            return 1.0
        for first, last, factor in self.runs.get(currency, ()):
            if first <= day <= last:
                return factor
        return None

    def at_instant(
        self, currency: ColumnElement[Any], instant: ColumnElement[Any]
    ) -> ColumnElement[float]:
        """Factor for each row at the local date of ``instant`` (NULL when no rate)."""
        return self._per_currency(
            currency,
            lambda runs: _search(
                instant,
                [
                    (
                        to_utc(first, self.timezone),
                        to_utc(last + timedelta(days=1), self.timezone),
                        factor,
                    )
                    for first, last, factor in runs
                ],
            ),
        )

    def by_day(self, currency: ColumnElement[Any], day: ColumnElement[Any]) -> ColumnElement[float]:
        """Factor for each row at its own local ``day`` (a DATE column, e.g. spend)."""
        return self._per_currency(
            currency,
            lambda runs: _search(
                day, [(first, last + timedelta(days=1), factor) for first, last, factor in runs]
            ),
        )

    def by_day_number(
        self, currency: ColumnElement[Any], day: ColumnElement[Any]
    ) -> ColumnElement[float]:
        """Factor for each row at its local day given as a day number (days since
        1970-01-01 in this table's timezone: the daily rollups' ``day``)."""
        return self._per_currency(
            currency,
            lambda runs: _search(
                day,
                [
                    (first.toordinal() - EPOCH_ORDINAL, last.toordinal() + 1 - EPOCH_ORDINAL, f)
                    for first, last, f in runs
                ],
            ),
        )

    def _per_currency(
        self,
        currency: ColumnElement[Any],
        lookup: Callable[[list[tuple[date, date, float]]], ColumnElement[Any]],
    ) -> ColumnElement[float]:
        whens: list[tuple[ColumnElement[bool], Any]] = [
            (currency == self.reporting, literal(1.0, Float))
        ]
        for cur, runs in sorted(self.runs.items()):
            if runs:
                whens.append((currency == cur, lookup(runs)))
        return case(*whens, else_=null())

    def on_day(self, currency: ColumnElement[Any], day: date) -> ColumnElement[float]:
        """Factor for each row at one fixed local day (stock money)."""
        whens: list[tuple[ColumnElement[bool], Any]] = [
            (currency == self.reporting, literal(1.0, Float))
        ]
        for cur in sorted(self.runs):
            factor = self.factor_on(cur, day)
            if factor is not None:
                whens.append((currency == cur, literal(factor, Float)))
        return case(*whens, else_=null())


def _search(key: ColumnElement[Any], runs: Sequence[tuple[Any, Any, float]]) -> Any:
    """The factor of the run ``[start, end)`` holding ``key``, as a balanced CASE tree.

    A flat CASE tests every run in turn: with daily rates over a year that is hundreds of
    comparisons per row, which made money KPIs take seconds on 20k deals. The tree tests
    ``log2(runs)`` boundaries per row and gives the same answer (NULL between runs).
    """
    if len(runs) == 1:
        start, end, factor = runs[0]
        return case((and_(key >= start, key < end), literal(factor, Float)), else_=null())
    middle = len(runs) // 2
    return case(
        (key < runs[middle][0], _search(key, runs[:middle])), else_=_search(key, runs[middle:])
    )


def _factor(latest: dict[Pair, float], cur: str, reporting: str) -> float | None:
    """``cur`` -> ``reporting`` from the rates known on a day: direct, inverse or via a base."""
    if (cur, reporting) in latest:
        return latest[(cur, reporting)]
    via = {base: rate for (c, base), rate in latest.items() if c == cur}
    for base, rate in sorted(via.items()):
        other = latest.get((reporting, base))
        if other:
            return rate / other
    return None


async def load_fx(
    session: Reader,
    workspace_ids: Sequence[str],
    reporting: str,
    timezone: str,
    first_day: date,
    last_day: date,
) -> FxTable:
    """The factors of every currency with rates between ``first_day`` and ``last_day``."""
    rows = (
        await session.execute(
            select(
                FxRate.workspace_id, FxRate.currency, FxRate.base_currency, FxRate.day, FxRate.rate
            )
            .where(
                or_(FxRate.workspace_id.in_(workspace_ids), FxRate.workspace_id.is_(None)),
                FxRate.day >= first_day - timedelta(days=LOOKBACK_DAYS),
                FxRate.day <= last_day,
                FxRate.rate > 0,
            )
            .order_by(FxRate.day)
        )
    ).all()
    # Per (pair, day) the workspace rate wins over the global one.
    by_day: dict[date, dict[Pair, tuple[bool, float]]] = {}
    for ws, cur, base, day, rate in rows:
        slot = by_day.setdefault(day, {})
        scoped = ws is not None
        if (cur, base) not in slot or scoped >= slot[(cur, base)][0]:
            slot[(cur, base)] = (scoped, float(rate))
    currencies = {c for day in by_day.values() for pair in day for c in pair} - {reporting}
    seen: dict[Pair, tuple[date, float]] = {}
    runs: dict[str, list[tuple[date, date, float]]] = {}
    day = first_day - timedelta(days=LOOKBACK_DAYS)
    while day <= last_day:
        for (cur, base), (_, rate) in by_day.get(day, {}).items():
            seen[(cur, base)] = (day, rate)
            seen[(base, cur)] = (day, 1.0 / rate)
        if day >= first_day:
            fresh = {
                pair: rate
                for pair, (when, rate) in seen.items()
                if (day - when).days <= LOOKBACK_DAYS
            }
            for cur in currencies:
                factor = _factor(fresh, cur, reporting)
                if factor is None:
                    continue
                cur_runs = runs.setdefault(cur, [])
                last = cur_runs[-1] if cur_runs else None
                if last and last[2] == factor and last[1] == day - timedelta(days=1):
                    cur_runs[-1] = (last[0], day, factor)
                else:
                    cur_runs.append((day, day, factor))
        day += timedelta(days=1)
    return FxTable(reporting=reporting, timezone=timezone, runs=runs)


#: FX tables kept by the workspaces' data versions (core.metrics.kept).
_KEPT: KeptByVersions[FxTable] = KeptByVersions(256)


async def load_fx_tables(
    session: Reader, workspace_ids: Sequence[str], reporting: str, frames: dict[str, list[Frame]]
) -> dict[str, FxTable]:
    """The FX table of each timezone's money frames, covering their days (none: no read).

    Kept per the workspaces' data versions (core.metrics.kept): every import of rates bumps
    the versions of the workspaces its rates serve (:func:`import_fx`), so a request at
    the versions of an earlier one reads none (one round trip and its rows turned into runs
    in Python, which were a tenth of a lifecycle request's CPU).
    """
    out: dict[str, FxTable] = {}
    for tz, zone in frames.items():
        first, last = min(f.start_date for f in zone), max(f.last_day for f in zone)
        read = partial(load_fx, session, workspace_ids, reporting, tz, first, last)
        out[tz] = await _KEPT.get(session, workspace_ids, (reporting, tz, first, last), read)
    return out


@dataclass(frozen=True, slots=True)
class FxRow:
    day: date
    currency: str
    rate: Decimal
    base: str


def _currency(value: str, line: int) -> str:
    code = value.strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(f"line {line}: {value!r} is not an ISO currency code")
    return code


def parse_fx_csv(text: str, default_base: str | None) -> list[FxRow]:
    """Rows of a ``day,currency,rate[,base]`` CSV (a header line is allowed).

    ``rate`` is how much one ``currency`` is worth in ``base``; rows without a base use
    ``default_base``. Errors name the line.
    """
    out: list[FxRow] = []
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if line == 1 and row[0].strip().lower() == "day":
            continue
        if len(row) not in (3, 4):
            raise ValidationError(f"line {line}: expected day,currency,rate[,base]")
        try:
            day = date.fromisoformat(row[0].strip())
        except ValueError:
            raise ValidationError(f"line {line}: {row[0]!r} is not an ISO date") from None
        try:
            rate = Decimal(row[2].strip())
        except InvalidOperation:
            raise ValidationError(f"line {line}: {row[2]!r} is not a number") from None
        if not rate.is_finite() or rate <= 0:
            raise ValidationError(f"line {line}: the rate must be positive")
        base_cell = row[3].strip() if len(row) == 4 else ""
        if not base_cell and default_base is None:
            raise ValidationError(f"line {line}: no base currency (add a column or --base)")
        base = _currency(base_cell or default_base or "", line)
        out.append(FxRow(day, _currency(row[1], line), rate, base))
    return out


async def store_fx(
    session: AsyncSession, rows: Sequence[FxRow], workspace_id: str | None, source: str = "import"
) -> int:
    """Replace the rates of the same (scope, base, currency, day) with ``rows``.

    Delete-then-insert rather than ON CONFLICT, because global rates have a NULL workspace
    and NULLs never conflict in a unique index on PostgreSQL.
    """
    scope = (
        FxRate.workspace_id.is_(None)
        if workspace_id is None
        else (FxRate.workspace_id == workspace_id)
    )
    rows = list({(r.base, r.currency, r.day): r for r in rows}.values())
    chunk = 500
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        keys = [(r.base, r.currency, r.day) for r in part]
        await session.execute(
            delete(FxRate).where(
                scope, tuple_(FxRate.base_currency, FxRate.currency, FxRate.day).in_(keys)
            )
        )
        session.add_all(
            FxRate(
                workspace_id=workspace_id,
                base_currency=r.base,
                currency=r.currency,
                day=r.day,
                rate=r.rate,
                source=source,
            )
            for r in part
        )
        await session.flush()
    return len(rows)


async def import_fx(
    session: AsyncSession, text: str, *, workspace_id: str | None, base: str | None = None
) -> int:
    """Parse and store a file of rates; returns the rates stored.

    The one use case behind ``crmkpi import fx`` and ``importFx``. Rows without a base
    currency take ``base``, else the workspace's reporting currency. A workspace's rates
    invalidate its cached results and FX tables (its data version); global rates
    (``workspace_id`` None, the operator's CLI only) serve every workspace that has none of
    its own, so they bump every workspace's version.
    """
    default_base = base.strip().upper() if base else None
    if workspace_id is not None:
        workspace = await session.get(Workspace, workspace_id)
        if workspace is None:
            raise NotFoundError(f"workspace {workspace_id!r} not found")
        default_base = default_base or workspace.currency
    count = await store_fx(session, parse_fx_csv(text, default_base), workspace_id)
    # Global rates serve every workspace without rates of its own: all their versions move.
    bump = update(Workspace)
    if workspace_id is not None:
        bump = bump.where(Workspace.id == workspace_id)
    await session.execute(
        bump.values(data_version=Workspace.data_version + 1).execution_options(
            synchronize_session=False
        )
    )
    return count
