"""The strongest hand-written baseline for bench/dashboard.graphql: one-pass SQL on the
product's own schema (PostgreSQL), every value checked equal to the product's.

What a DBA would write for this dashboard, not one statement per KPI and period:

- **closed deals**: one range aggregate per month bucket (``LATERAL`` over the bucket
  bounds, each an index range on ``(workspace_id, closed_at)``): won count and amount, lost
  count, cycle days, per currency. Both periods are buckets of the series (September and
  October 2025), so their figures are read from it, not scanned again.
- **deals open at an instant t** (pipeline, weighted pipeline, open deals at each period's
  end, and closeRate's "open at any instant of the period"): still-open deals (status OPEN)
  plus deals closed at or after the earliest instant needed (a range on ``closed_at``),
  as one UNION ALL, both periods in the same aggregates; grouped by plain columns
  (connection, stage, the deal's own probability, currency), and the stage probability
  joined after aggregation. Deals with stage history take the stage they were in at t: a
  statement of their own, deal by deal, adds the difference that makes.
- **deals created**: one range aggregate per bucket on ``(workspace_id, remote_created_at)``.
- **activities done**: a range per bucket on the stored done time, index-only, for all but
  held meetings whose start is earlier than their stored done time (done at their start,
  KPIS.md); those few are read once from the hull range and counted by their start.
- **breakdowns by owner**: grouped by the stored owner id (plain columns), the users joined
  after aggregation.

Money is summed per currency and converted once per currency: the benchmark's data is in
the reporting currency (bench/metrics_data.py), so the factor is 1; another currency is
refused rather than converted wrongly.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_BUCKETS = (
    "unnest(CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[])) "
    "WITH ORDINALITY AS b(s, e, i)"
)
_LIVE = "workspace_id = :ws AND deleted_at IS NULL"
#: When an activity was done (core.metrics.measures.activity_done_at): a held meeting at its
#: start when that is earlier than the stored done time.
_DONE = (
    "CASE WHEN type = 'MEETING' AND due_at IS NOT NULL AND due_at < done_at THEN due_at "
    "ELSE done_at END"
)

#: Closed deals per month bucket (index range per bucket), per currency.
CLOSED_SERIES = f"""
SELECT b.i, x.*
FROM {_BUCKETS}
CROSS JOIN LATERAL (
  SELECT currency,
    count(*) FILTER (WHERE status = 'WON') AS won,
    sum(amount) FILTER (WHERE status = 'WON') AS won_amount,
    count(amount) FILTER (WHERE status = 'WON') AS won_priced,
    count(*) FILTER (WHERE status = 'LOST') AS lost,
    sum(EXTRACT(EPOCH FROM closed_at) - EXTRACT(EPOCH FROM remote_created_at))
      FILTER (WHERE status = 'WON' AND remote_created_at IS NOT NULL) AS cycle_s,
    count(remote_created_at) FILTER (WHERE status = 'WON') AS cycle_n
  FROM deals
  WHERE {_LIVE} AND closed_at >= b.s AND closed_at < b.e AND status IN ('WON', 'LOST')
  GROUP BY currency
) AS x
"""

#: Deals created per month bucket (index-only range per bucket).
CREATED_SERIES = f"""
SELECT b.i, x.n
FROM {_BUCKETS}
CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM deals
  WHERE {_LIVE} AND remote_created_at >= b.s AND remote_created_at < b.e
) AS x
"""


def _open(t: str) -> str:
    return f"remote_created_at < {t} AND (status = 'OPEN' OR closed_at >= {t})"


def _open_any(s: str, e: str) -> str:
    return f"remote_created_at < {e} AND (status = 'OPEN' OR closed_at > {s})"


#: Deals open at each period's end and at any instant of each period: still-open deals plus
#: deals closed at or after the previous period's start, aggregated by plain columns; the
#: stage probability joined after aggregation. :t1/:t2 are the periods' ends, :s1/:s2 their
#: starts (s1 < t1 = s2 < t2).
OPEN_DEALS = f"""
WITH cand AS (
  SELECT connection_id, stage_remote_id, probability, currency, amount,
         'OPEN' AS status, CAST(NULL AS timestamptz) AS closed_at, remote_created_at
  FROM deals WHERE {_LIVE} AND status = 'OPEN' AND remote_created_at < :t2
  UNION ALL
  SELECT connection_id, stage_remote_id, probability, currency, amount, status,
         closed_at, remote_created_at
  FROM deals WHERE {_LIVE} AND status IN ('WON', 'LOST') AND closed_at > :s1
    AND remote_created_at < :t2
), agg AS (
  SELECT connection_id, stage_remote_id, probability, currency,
    count(*) FILTER (WHERE {_open(":t1")}) AS open1,
    count(*) FILTER (WHERE {_open(":t2")}) AS open2,
    sum(amount) FILTER (WHERE {_open(":t1")}) AS amount1,
    count(amount) FILTER (WHERE {_open(":t1")}) AS priced1,
    sum(amount) FILTER (WHERE {_open(":t2")}) AS amount2,
    count(amount) FILTER (WHERE {_open(":t2")}) AS priced2,
    count(*) FILTER (WHERE {_open_any(":s1", ":t1")}) AS any1,
    count(*) FILTER (WHERE {_open_any(":s2", ":t2")}) AS any2
  FROM cand
  GROUP BY connection_id, stage_remote_id, probability, currency
)
SELECT agg.*, COALESCE(st.probability, agg.probability, 0.0) AS weight
FROM agg
LEFT JOIN stages AS st
  ON st.connection_id = agg.connection_id AND st.remote_id = agg.stage_remote_id
"""

#: What stage history changes in the weighted pipeline, deal by deal (only deals that have
#: history): the probability of the stage each was in at t when its history reaches back to
#: t, less the current stage's that OPEN_DEALS weighted it with (as the product).
OPEN_WITH_HISTORY = f"""
SELECT t.i, d.currency,
  sum(d.amount * (COALESCE(
    CASE WHEN h.first_at < t.t THEN (
      SELECT hs.probability FROM deal_stage_history AS sh
      JOIN stages AS hs ON hs.connection_id = sh.connection_id
        AND hs.remote_id = sh.stage_remote_id
      WHERE sh.connection_id = d.connection_id AND sh.deal_remote_id = d.remote_id
        AND sh.entered_at < t.t AND sh.deleted_at IS NULL
      ORDER BY sh.entered_at DESC LIMIT 1) END,
    st.probability, d.probability, 0.0) - COALESCE(st.probability, d.probability, 0.0)))
    AS weighted
FROM (
  SELECT connection_id, deal_remote_id, min(entered_at) AS first_at FROM deal_stage_history
  WHERE {_LIVE} GROUP BY connection_id, deal_remote_id
) AS h
JOIN deals AS d ON d.connection_id = h.connection_id AND d.remote_id = h.deal_remote_id
  AND d.workspace_id = :ws AND d.deleted_at IS NULL
CROSS JOIN unnest(CAST(:ts AS timestamptz[])) WITH ORDINALITY AS t(t, i)
LEFT JOIN stages AS st ON st.connection_id = d.connection_id AND st.remote_id = d.stage_remote_id
WHERE d.remote_created_at < t.t AND (d.status = 'OPEN' OR d.closed_at >= t.t)
GROUP BY t.i, d.currency
"""


_MOVED = "type = 'MEETING' AND due_at IS NOT NULL AND due_at < done_at"

#: Activities done per bucket. Done is the stored done time except for a held meeting, done
#: at its start when that is earlier (``_DONE``): the others are counted by a range per
#: bucket on the stored time (index-only); those meetings, read once from the hull range
#: (the stored time is after their start, so at or after the first bucket's start), by
#: their start.
ACTIVITIES_SERIES = f"""
WITH moved AS MATERIALIZED (
  SELECT due_at FROM activities WHERE {_LIVE} AND done_at >= :s0 AND {_MOVED}
)
SELECT b.i, x.n + y.n AS n
FROM {_BUCKETS}
CROSS JOIN LATERAL (
  SELECT count(*) FILTER (WHERE NOT ({_MOVED})) AS n FROM activities
  WHERE {_LIVE} AND done_at >= b.s AND done_at < b.e
) AS x
CROSS JOIN LATERAL (
  SELECT count(*) AS n FROM moved WHERE due_at >= b.s AND due_at < b.e
) AS y
"""


REVENUE_BY_OWNER = f"""
SELECT u.id, g.currency, g.amount
FROM (
  SELECT connection_id, owner_remote_id, currency, sum(amount) AS amount FROM deals
  WHERE {_LIVE} AND status = 'WON' AND closed_at >= :s AND closed_at < :e
  GROUP BY connection_id, owner_remote_id, currency
) AS g
LEFT JOIN users AS u ON u.connection_id = g.connection_id AND u.remote_id = g.owner_remote_id
  AND u.deleted_at IS NULL
"""

ACTIVITIES_BY_OWNER = f"""
SELECT u.id, g.n
FROM (
  SELECT connection_id, owner_remote_id, count(*) AS n
  FROM (SELECT connection_id, owner_remote_id, {_DONE} AS done FROM activities
        WHERE {_LIVE} AND done_at >= :s) AS a
  WHERE done >= :s AND done < :e
  GROUP BY connection_id, owner_remote_id
) AS g
LEFT JOIN users AS u ON u.connection_id = g.connection_id AND u.remote_id = g.owner_remote_id
  AND u.deleted_at IS NULL
"""


def _factor(currency: str, reporting: str) -> float:
    if currency != reporting:
        raise NotImplementedError(f"one-pass baseline: {currency} is not the reporting currency")
    return 1.0


def _money(rows: Sequence[Any], amount: str, reporting: str) -> float:
    return sum(float(getattr(r, amount) or 0) * _factor(r.currency, reporting) for r in rows)


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def statements(
    ws: str, series: Sequence[tuple[datetime, datetime]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """The one-pass statements of the dashboard (name, SQL, parameters), in the order
    :func:`run_one_pass` reads them; the periods are the series' last two buckets."""
    starts, ends = [s for s, _ in series], [e for _, e in series]
    (s1, t1), (s2, t2) = series[-2], series[-1]
    buckets = {"ws": ws, "starts": starts, "ends": ends}
    return [
        ("closed series", CLOSED_SERIES, buckets),
        ("created series", CREATED_SERIES, buckets),
        ("open deals", OPEN_DEALS, {"ws": ws, "s1": s1, "t1": t1, "s2": s2, "t2": t2}),
        ("open with history", OPEN_WITH_HISTORY, {"ws": ws, "ts": [t1, t2]}),
        ("activities series", ACTIVITIES_SERIES, {**buckets, "s0": starts[0]}),
        ("revenue by owner", REVENUE_BY_OWNER, {"ws": ws, "s": s2, "e": t2}),
        ("activities by owner", ACTIVITIES_BY_OWNER, {"ws": ws, "s": s2, "e": t2}),
    ]


async def run_one_pass(
    engine: AsyncEngine,
    ws: str,
    series: Sequence[tuple[datetime, datetime]],
    *,
    reporting: str = "EUR",
    parallel: bool = True,
) -> tuple[float, dict[str, Any]]:
    """Seconds and the dashboard's values, keyed as bench.metrics_bench.run_hand_written.

    ``series`` are the 12 month buckets; the periods are its last two (the comparison and
    the measured month). ``parallel``: each statement on its own connection at once (as the
    product's fetcher does), else one after another on one connection.
    """
    n = len(series)
    jobs = [(sql, params) for _, sql, params in statements(ws, series)]
    started = time.perf_counter()
    if parallel:

        async def one(sql: str, params: dict[str, Any]) -> list[Any]:
            async with engine.connect() as conn:
                return list((await conn.execute(text(sql), params)).all())

        results = await asyncio.gather(*(one(sql, p) for sql, p in jobs))
    else:
        results = []
        async with engine.connect() as conn:
            for sql, params in jobs:
                results.append(list((await conn.execute(text(sql), params)).all()))
    closed, created, open_rows, history_rows, acts, rev_owner, act_owner = results
    out = _assemble(
        closed, created, open_rows, history_rows, acts, rev_owner, act_owner, n, reporting
    )
    return time.perf_counter() - started, out


def _assemble(
    closed: list[Any],
    created: list[Any],
    open_rows: list[Any],
    history_rows: list[Any],
    acts: list[Any],
    rev_owner: list[Any],
    act_owner: list[Any],
    n: int,
    reporting: str,
) -> dict[str, Any]:
    """The values of the dashboard (see run_one_pass) from the statements' rows."""
    by_bucket: dict[int, list[Any]] = {i: [] for i in range(1, n + 1)}
    for row in closed:
        by_bucket[row.i].append(row)
    won = {i: sum(r.won for r in rows) for i, rows in by_bucket.items()}
    lost = {i: sum(r.lost for r in rows) for i, rows in by_bucket.items()}
    revenue = {i: _money(rows, "won_amount", reporting) for i, rows in by_bucket.items()}
    priced = {i: sum(r.won_priced for r in rows) for i, rows in by_bucket.items()}
    cycle = {i: sum(float(r.cycle_s or 0) for r in rows) / 86400.0 for i, rows in by_bucket.items()}
    cycle_n = {i: sum(r.cycle_n for r in rows) for i, rows in by_bucket.items()}
    made = {row.i: row.n for row in created}
    done = {row.i: row.n for row in acts}
    out: dict[str, Any] = {}
    weighted_history = {
        i: sum(
            float(r.weighted or 0) * _factor(r.currency, reporting)
            for r in history_rows
            if r.i == i
        )
        for i in (1, 2)
    }
    for label, b, k in (("previous", n - 1, 1), ("value", n, 2)):
        open_n = sum(getattr(r, f"open{k}") for r in open_rows)
        any_n = sum(getattr(r, f"any{k}") for r in open_rows)
        pipeline = _money(open_rows, f"amount{k}", reporting)
        weighted = weighted_history[k] + sum(
            float(getattr(r, f"amount{k}") or 0) * float(r.weight) * _factor(r.currency, reporting)
            for r in open_rows
        )
        out[f"salesRevenue.{label}"] = revenue[b]
        out[f"dealsWon.{label}"] = won[b]
        out[f"dealsLost.{label}"] = lost[b]
        out[f"winRate.{label}"] = _div(won[b], won[b] + lost[b])
        out[f"averageDealSize.{label}"] = _div(revenue[b], priced[b])
        out[f"closeRate.{label}"] = _div(won[b], any_n)
        out[f"opportunitiesCreated.{label}"] = made[b]
        out[f"averageSalesCycleDays.{label}"] = _div(cycle[b], cycle_n[b])
        out[f"pipelineValue.{label}"] = pipeline
        out[f"weightedPipelineValue.{label}"] = weighted
        out[f"openDeals.{label}"] = open_n
        out[f"activities.{label}"] = done[b]
    for i in range(n):
        out[f"revenueSeries.{i}"] = revenue[i + 1]
        out[f"wonSeries.{i}"] = won[i + 1]
        out[f"createdSeries.{i}"] = made[i + 1]
        out[f"activitySeries.{i}"] = done[i + 1]
    revenue_by: dict[str, float] = {}
    for row in rev_owner:
        key = str(row.id) if row.id is not None else ""
        revenue_by[key] = revenue_by.get(key, 0.0) + float(row.amount or 0) * _factor(
            row.currency, reporting
        )
    out["revenueByOwner"] = revenue_by
    acts_by: dict[str, float] = {}
    for row in act_owner:
        key = str(row.id) if row.id is not None else ""
        acts_by[key] = acts_by.get(key, 0.0) + float(row.n)
    out["activitiesByOwner"] = acts_by
    return out
