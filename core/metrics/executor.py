"""Runs a batch of KPI requests: plan each request's frames, plan the batch's statements as
typed jobs, compile them, fetch them at once, read their rows back and assemble results.

Each step is its own module: core.metrics.jobs (the jobs: planned, compiled, read back),
core.metrics.compiler, open_sql and series_sql (the SQL), core.metrics.fetch (running
statements at once, the request's own reads beside them). Only aggregates come back from
the database; this module turns a request into its frames and the cell values into results
(comparison, series, breakdown, target).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from core.errors import CrmkpiError, NotFoundError, ValidationError
from core.metrics import rollups
from core.metrics import target_match as target_book
from core.metrics.capability_gate import gate
from core.metrics.compiler import compile_order_statistic
from core.metrics.definitions import KpiDefinition
from core.metrics.dimensions import DimensionRef
from core.metrics.fetch import fetch_beside
from core.metrics.formulas import Incremental, Outcome, Ratio, Single, Total
from core.metrics.freshness import ConnectionRow, freshness, kpi_tables, load_connections
from core.metrics.fx import FxTable, load_fx_tables
from core.metrics.jobs import (
    Plan,
    Unit,
    Values,
    built,
    compile_jobs,
    fx_in_sql,
    plan_jobs,
    read_rows,
    start_order,
    statements,
)
from core.metrics.measures import Measure
from core.metrics.periods import (
    Calendar,
    LocalPeriod,
    aligned_frame,
    buckets,
    comparison_period,
    resolve,
)
from core.metrics.query import (
    ComparisonResult,
    Freshness,
    KpiRequest,
    KpiResult,
    PeriodInfo,
    Point,
    Reader,
    Scope,
)
from core.metrics.registry import MetricRegistry
from core.metrics.segments import Breakdown, Segment
from core.metrics.types import PERCENTILES, Frame, KpiKind, Statistic
from core.metrics.workspace_settings import WorkspaceSettings, load_settings

#: Most previous periods incrementalRevenue's baseline may average.
MAX_BASELINE_PERIODS = 36


def _info(period: LocalPeriod, frame: Frame, now: datetime) -> PeriodInfo:
    return PeriodInfo(
        period.start,
        period.end,
        frame.timezone,
        frame.start,
        frame.end,
        frame.start <= now < frame.end,
    )


class MetricsExecutor:
    """Answers KPI requests from the normalized model with the registry's definitions."""

    def __init__(self, registry: MetricRegistry) -> None:
        self.registry = registry

    def _plan(self, request: KpiRequest, workspace: WorkspaceSettings, now: datetime) -> Plan:
        kpi = self.registry.get(request.kpi)
        if kpi is None:
            raise ValidationError(f"unknown KPI {request.kpi!r}")
        if request.statistic is not Statistic.MEAN and kpi.percentile is None:
            raise ValidationError(f"{kpi.name} has no {request.statistic.value} statistic")
        if request.within_days is not None and (not kpi.cohort_window or request.within_days < 0):
            raise ValidationError(f"withinDays is not available on {kpi.name} (or is negative)")
        if request.baseline_periods is not None:
            kpi = _with_baseline(kpi, request.baseline_periods)
        calendar = Calendar(
            request.timezone or workspace.timezone,
            request.fiscal_year_start_month or workspace.fiscal_year_start_month,
            request.week_start or workspace.week_start,
        )
        as_of = request.as_of or now
        if as_of.tzinfo is None:
            raise ValidationError("asOf must carry a timezone offset")
        period = resolve(request.period, calendar, now)
        main = period.frame(as_of, request.within_days)
        comparison = None
        if request.compare_to is not None:
            other = comparison_period(period, request.compare_to)
            frame, aligned = aligned_frame(
                period, other, now, other.frame(as_of, request.within_days)
            )
            comparison = (other, frame, aligned)
        series = []
        if request.granularity is not None:
            # Every bucket follows cohorts to the series' as-of, so buckets differ only by
            # their time range and can be grouped in one statement.
            for bucket, label in buckets(period, request.granularity):
                series.append((bucket, label, bucket.frame(main.as_of, request.within_days)))
        breakdown = request.breakdown or (
            Breakdown(kpi.breakdown, top=50) if kpi.breakdown else None
        )
        entities = self.registry.entities(kpi)
        if breakdown is not None:
            for entity in entities:
                if not breakdown.supported(entity):
                    raise ValidationError(
                        f"{kpi.name} cannot be broken down by {breakdown.by.label}"
                    )
        missing = sorted({ref.label for e in entities for ref in request.segment.unsupported(e)})
        unsupported = f"{kpi.name} cannot be segmented by {', '.join(missing)}" if missing else None
        return Plan(request, kpi, period, main, comparison, series, breakdown, unsupported)

    def _cells(self, plan: Plan, frame: Frame) -> list[tuple[Measure, Frame]]:
        return [(self.registry.measure(name), f) for name, f in plan.kpi.formula.cells(frame)]

    async def run(
        self,
        session: Reader,
        scope: Scope,
        requests: Sequence[KpiRequest],
        now: datetime | None = None,
    ) -> list[KpiResult | CrmkpiError]:
        """Results in request order; a bad request yields its error, not the batch's."""
        now = now or datetime.now(UTC)
        if not scope.workspace_ids:
            raise NotFoundError("no workspace to read")
        workspaces = await load_settings(session, scope.workspace_ids)
        first = next((workspaces[w] for w in scope.workspace_ids if w in workspaces), None)
        if first is None:
            raise NotFoundError("workspace not found")
        currency = (scope.currency or first.currency).upper()
        ws_ids = list(scope.workspace_ids)

        plans: list[Plan | CrmkpiError] = []
        for request in requests:
            try:
                plans.append(self._plan(request, first, now))
            except CrmkpiError as exc:
                plans.append(exc)
        ok = [p for p in plans if isinstance(p, Plan) and p.unsupported is None]

        # Plan the batch's statements as jobs, compile them all, run them at once
        # (core.metrics.fetch), read their rows back into cell values, then assemble.
        # The FX rates are read before compiling only when a statement converts money in
        # SQL; money summed per currency (MRR) is converted after, so its rates are read
        # beside the statements, like the request's other reads: one round trip fewer.
        jobs = plan_jobs(ok, self._cells)
        # Cells on whole local days with rollup dimensions read the daily rollups (built when
        # a session takes them, after those over the large tables have started).
        zones = {workspaces[w].timezone if w in workspaces else None for w in ws_ids}
        zone = zones.pop() if len(zones) == 1 else None
        fx_first = fx_in_sql(jobs) or rollups.converts_money(jobs, zone)
        fx_tables = (
            await load_fx_tables(session, ws_ids, currency, jobs.money_frames) if fx_first else {}
        )
        rolled, jobs = rollups.take(jobs, workspace_ids=ws_ids, fx_tables=fx_tables, timezone=zone)
        base = compile_jobs(jobs, workspace_ids=ws_ids, fx_tables=fx_tables)
        units: list[Unit] = [*rolled, *base]

        async def own_reads() -> tuple[
            list[ConnectionRow], dict[target_book.TargetKey, float], dict[str, FxTable]
        ]:
            # The request's session is free while readers run the statements.
            fx = fx_tables
            if not fx_first:
                fx = await load_fx_tables(session, ws_ids, currency, jobs.money_frames)
            connections = await load_connections(session, ws_ids)
            return connections, await self._targets(session, ws_ids, ok), fx

        rows, reads = await fetch_beside(session, statements(units), own_reads, start_order(units))
        compiled = built(units)
        assert reads is not None
        connections, targets, fx_tables = reads
        values, groups = read_rows(compiled, rows, fx_tables)
        results: list[KpiResult | CrmkpiError] = []
        for item in plans:
            if isinstance(item, CrmkpiError):
                results.append(item)
                continue
            plan = item
            key = plan.key
            fresh = freshness(
                connections, plan.request.segment, now, kpi_tables(self.registry, plan.kpi.name)
            )
            result = await self._assemble(
                session,
                plan,
                values.get(key, {}),
                groups.get((key, plan.breakdown)) if plan.breakdown else None,
                currency,
                ws_ids,
                fresh,
                now,
                targets.get(_target_key(plan)),
            )
            results.append(gate(result, connections, plan.request.segment))
        return results

    async def _targets(
        self, session: Reader, ws_ids: list[str], plans: list[Plan]
    ) -> dict[target_book.TargetKey, float]:
        """Targets of one workspace's requests, in one query; none across several workspaces."""
        if len(ws_ids) != 1 or not plans:
            return {}
        found = await target_book.find_targets(session, ws_ids[0], [_target_key(p) for p in plans])
        return {k: float(v) for k, v in found.items()}

    async def _evaluate(
        self,
        session: Reader,
        plan: Plan,
        values: Values,
        frame: Frame,
        ws_ids: list[str],
    ) -> Outcome:
        if plan.unsupported is not None:
            return Outcome(None, null_reason=plan.unsupported)
        outcome = plan.kpi.formula.evaluate(values, frame)
        statistic = plan.request.statistic
        if statistic is Statistic.MEAN:
            return outcome
        formula = plan.kpi.formula
        assert isinstance(formula, Ratio) and plan.kpi.percentile is not None
        n = int(values.get((formula.denominator, frame)) or 0)
        if n == 0:
            return outcome
        position = PERCENTILES[statistic] * (n - 1)
        low = math.floor(position)
        statement = compile_order_statistic(
            self.registry.measures[plan.kpi.percentile],
            frame,
            low,
            workspace_ids=ws_ids,
            segment=plan.request.segment,
        )
        found = [float(v) for v in (await session.scalars(statement))]
        if not found:
            return Outcome(None, null_reason="no values")
        high = found[1] if len(found) > 1 else found[0]
        value = found[0] + (high - found[0]) * (position - low)
        return Outcome(value, None, float(n))

    async def _assemble(
        self,
        session: Reader,
        plan: Plan,
        values: Values,
        groups: dict[str, tuple[str, Values]] | None,
        currency: str,
        ws_ids: list[str],
        fresh: Freshness,
        now: datetime,
        target: float | None = None,
    ) -> KpiResult:
        kpi = plan.kpi
        main = await self._evaluate(session, plan, values, plan.main, ws_ids)
        money = self.registry.money_measures(kpi)
        missing = sum(int(values.get((f"{m}.missing", plan.main)) or 0) for m in money)
        comparison = None
        if plan.comparison is not None:
            period, frame, aligned = plan.comparison
            other = await self._evaluate(session, plan, values, frame, ws_ids)
            change = ratio = None
            if main.value is not None and other.value is not None:
                change = main.value - other.value
                ratio = change / abs(other.value) if other.value else None
            comparison = ComparisonResult(
                other.value,
                other.numerator,
                other.denominator,
                other.null_reason,
                change,
                ratio,
                _info(period, frame, now),
                aligned,
            )
        series = None
        if plan.request.granularity is not None:
            points = []
            for bucket, label, frame in plan.series:
                o = await self._evaluate(session, plan, values, frame, ws_ids)
                points.append(
                    Point(
                        label,
                        o.value,
                        o.numerator,
                        o.denominator,
                        o.null_reason,
                        bucket.start,
                        bucket.end,
                        frame=frame,
                    )
                )
            series = tuple(points)
        breakdown = None
        if groups is not None and plan.breakdown is not None:
            breakdown = self._breakdown(plan, groups, plan.breakdown)
        return KpiResult(
            name=kpi.name,
            kind=kpi.kind,
            unit=kpi.unit,
            value=main.value,
            numerator=main.numerator,
            denominator=main.denominator,
            null_reason=main.null_reason,
            currency=currency if money else None,
            missing_fx_count=missing,
            period=_info(plan.period, plan.main, now),
            statistic=plan.request.statistic,
            freshness=fresh,
            comparison=comparison,
            series=series,
            breakdown=breakdown,
            extra=dict(main.extra or {}),
            target=target,
            attainment=target_book.attainment(main.value, target),
            projection=target_book.projection(
                main.value,
                plan.main.start,
                plan.main.end,
                now,
                additive=kpi.kind is KpiKind.FLOW and isinstance(kpi.formula, Single | Total),
            ),
            frame=plan.main,
            segment=plan.request.segment,
        )

    def _breakdown(
        self, plan: Plan, groups: dict[str, tuple[str, Values]], breakdown: Breakdown
    ) -> tuple[Point, ...]:
        """Groups by value (largest first), the top N kept and the rest summed as "other"."""
        if plan.unsupported is not None:
            return ()
        formula, frame = plan.kpi.formula, plan.main
        percentile = plan.request.statistic is not Statistic.MEAN
        reason = "MEDIAN and P90 are not broken down" if percentile else None

        def point(key: str | None, label: str, vals: Values) -> Point:
            narrowed = _narrowed(plan.request.segment, breakdown, key)
            if percentile:
                return Point(label, None, None, None, reason, key=key, segment=narrowed)
            o = formula.evaluate(vals, frame)
            return Point(
                label, o.value, o.numerator, o.denominator, o.null_reason, key=key, segment=narrowed
            )

        # Groups come from every KPI sharing this breakdown; keep those this KPI's cells read.
        own = set(formula.cells(frame))
        ranked = sorted(
            (point(k, label, vals) for k, (label, vals) in groups.items() if own & vals.keys()),
            key=lambda p: (p.value is None, -(p.value or 0.0), p.label),
        )
        top, rest = ranked[: breakdown.top], ranked[breakdown.top :]
        if rest:
            merged: Values = {}
            for p in rest:
                for cell, v in groups[p.key or ""][1].items():
                    merged[cell] = (merged.get(cell) or 0.0) + (v or 0.0)
            top.append(point(None, "other", merged))
        return tuple(top)


def _narrowed(segment: Segment, breakdown: Breakdown, key: str | None) -> Segment | None:
    """The segment of one breakdown group (its records); None for "(none)" and "other"."""
    if not key:
        return None
    kept = [(ref, values) for ref, values in segment.filters if ref != breakdown.by]
    return Segment.of([*kept, (breakdown.by, [key])])


def _with_baseline(kpi: KpiDefinition, periods: int) -> KpiDefinition:
    """``kpi`` with a baseline of ``periods`` previous periods (incrementalRevenue only)."""
    if not isinstance(kpi.formula, Incremental):
        raise ValidationError(f"baselinePeriods is not available on {kpi.name}")
    if not 1 <= periods <= MAX_BASELINE_PERIODS:
        raise ValidationError(f"baselinePeriods must be between 1 and {MAX_BASELINE_PERIODS}")
    return replace(kpi, formula=replace(kpi.formula, baseline_periods=periods))


def _target_key(plan: Plan) -> target_book.TargetKey:
    segment = target_book.segment_key(target_book.segment_of(plan.request.segment))
    return target_book.TargetKey(plan.kpi.name, plan.period.start, plan.period.end, segment)


__all__ = ["DimensionRef", "MetricsExecutor"]
