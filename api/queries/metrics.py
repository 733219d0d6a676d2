"""The ``metrics`` and ``kpiDefinitions`` root fields; ``Metrics`` is generated from the registry.

Every KPI of the registry becomes a field of ``Metrics`` (``strawberry.tools.create_type``)
with the same arguments and its definition as description. All KPI fields of one
``metrics`` selection go through one DataLoader, so the executor receives them as one batch
and answers those sharing a period and segment with one statement per table.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.tools import create_type
from strawberry.types import Info

from api.context import Context
from api.permissions import IsAuthenticated
from api.session import SerialSession
from api.types.drill import DrillTarget
from api.types.metrics import (
    BreakdownInput,
    ComparisonKind,
    Granularity,
    KpiDefinition,
    KpiResult,
    PeriodInput,
    SegmentInput,
    Statistic,
)
from core import metrics as m
from core import user_kpis
from core.errors import ValidationError
from core.metrics import cost
from core.metrics.cache import CachedExecutor
from core.metrics.formulas import Incremental
from core.metrics.shared_cache import DatabaseStore

_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
#: Where a request's session keeps the metric points its batches have asked for.
_POINTS_SPENT = "crmkpi.metrics_points"


@dataclass
class MetricsRoot:
    """What the generated ``Metrics`` fields need: the batching loader of one selection."""

    loader: DataLoader[m.KpiRequest, m.KpiResult]
    #: What the results' ``records`` need: the KPIs' definitions and the caller's scope.
    registry: m.MetricRegistry | None = None
    scope: m.Scope | None = None


def _request(
    kpi: str,
    *,
    period: PeriodInput | None = None,
    segment: SegmentInput | None = None,
    compare_to: Any = None,
    granularity: Any = None,
    breakdown: BreakdownInput | None = None,
    as_of: datetime | None = None,
    statistic: Any = m.Statistic.MEAN,
    within_days: int | None = None,
    baseline_periods: int | None = None,
) -> m.KpiRequest:
    p = period or PeriodInput(preset=m.Preset.THIS_MONTH)
    return m.KpiRequest(
        kpi=kpi,
        period=p.to_core(),
        timezone=p.timezone,
        fiscal_year_start_month=p.fiscal_year_start_month,
        week_start=p.week_start,
        segment=segment.to_core() if segment else m.Segment(),
        compare_to=m.Comparison(compare_to) if compare_to is not None else None,
        granularity=m.Granularity(granularity) if granularity is not None else None,
        breakdown=breakdown.to_core() if breakdown else None,
        as_of=as_of,
        statistic=m.Statistic(statistic),
        within_days=within_days,
        baseline_periods=baseline_periods,
    )


_BASELINE = "incrementalRevenue: previous equal periods averaged as the baseline (default 3)."


async def _load(root: Any, request: m.KpiRequest) -> KpiResult | None:
    if not isinstance(root, MetricsRoot):
        raise TypeError("Metrics fields resolve on a MetricsRoot")
    result = await root.loader.load(request)
    drill = None
    if root.registry is not None and root.scope is not None:
        drill = DrillTarget(
            root.registry, request.kpi, root.scope.workspace_ids, result.currency or ""
        )
    return KpiResult.of(result, drill, as_of=request.as_of)


_OPTIONAL = inspect.Parameter.KEYWORD_ONLY
_ROOT = inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Any)
_NAME = inspect.Parameter("name", _OPTIONAL, annotation=str)
#: The arguments every KPI field takes, in schema order.
_COMMON = tuple(
    inspect.Parameter(name, _OPTIONAL, default=None, annotation=annotation)
    for name, annotation in (
        ("period", PeriodInput | None),
        ("segment", SegmentInput | None),
        ("compare_to", ComparisonKind | None),
        ("granularity", Granularity | None),
        ("breakdown", BreakdownInput | None),
        ("as_of", datetime | None),
    )
)
_STATISTIC = inspect.Parameter(
    "statistic", _OPTIONAL, default=m.Statistic.MEAN, annotation=Statistic
)
_WITHIN_DAYS = inspect.Parameter(
    "within_days",
    _OPTIONAL,
    default=None,
    annotation=Annotated[
        int | None,
        strawberry.argument(description="Count only conversions within this many days."),
    ],
)
_BASELINE_PERIODS = inspect.Parameter(
    "baseline_periods",
    _OPTIONAL,
    default=None,
    annotation=Annotated[int | None, strawberry.argument(description=_BASELINE)],
)
#: ``kpi(name:)`` answers any KPI, so it takes every extra argument.
_ANY_KPI_EXTRAS = (_STATISTIC, _WITHIN_DAYS.replace(annotation=int | None), _BASELINE_PERIODS)


def _extras_for(kpi: m.KpiDefinition) -> tuple[inspect.Parameter, ...]:
    """The arguments this KPI takes beyond the common ones (at most one kind applies)."""
    if isinstance(kpi.formula, Incremental):
        return (_BASELINE_PERIODS,)
    if kpi.percentile is not None:
        return (_STATISTIC,)
    if kpi.cohort_window:
        return (_WITHIN_DAYS,)
    return ()


def _build_resolver(
    python_name: str, kpi: str | None, extras: Sequence[inspect.Parameter]
) -> Callable[..., Any]:
    """One resolver for every KPI field: strawberry reads the arguments from the
    signature, so the field's arguments are ``_COMMON`` plus ``extras`` (and ``name``
    first when ``kpi`` is None: the field answers any KPI by name). It is named
    ``python_name`` because create_type keys fields by python name."""
    leading = (_ROOT,) if kpi is not None else (_ROOT, _NAME)

    async def resolve(root: Any, **arguments: Any) -> KpiResult | None:
        name = kpi if kpi is not None else arguments.pop("name")
        return await _load(root, _request(name, **arguments))

    resolve.__name__ = resolve.__qualname__ = python_name
    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [*leading, *_COMMON, *extras], return_annotation=KpiResult | None
    )
    return resolve


def _description(kpi: m.KpiDefinition) -> str:
    """The definition; KPI fields are nullable so one bad argument fails only its field."""
    return f"{kpi.description} ({kpi.kind.value.lower()} KPI, unit {kpi.unit.value})"


def create_metrics_type(registry: m.MetricRegistry) -> type:
    """The ``Metrics`` type: one field per registered KPI, plus ``kpi(name:)``.

    User-defined KPIs are never fields: the schema is shared by every tenant and open to
    introspection, so an organization's KPI names and descriptions would leak to all
    (issue #20). Each organization's KPIs are answered by ``kpi(name:)`` with the same
    ``KpiResult`` type, and listed (to that organization only) by ``kpiDefinitions``.
    """
    kpis = list(registry.kpis.values())
    fields: list[Any] = [
        strawberry.field(
            resolver=_build_resolver(kpi.name, kpi.name, _extras_for(kpi)),
            name=kpi.name,
            description=_description(kpi),
        )
        for kpi in kpis
    ]
    fields.append(
        strawberry.field(
            resolver=_build_resolver("kpi", None, _ANY_KPI_EXTRAS),
            name="kpi",
            description="Any KPI of the registry by name, built-in or user-defined.",
        )
    )
    return create_type(
        "Metrics", fields, description="Every KPI of KPIS.md as a field (see kpiDefinitions)."
    )


def _batch(
    session: SerialSession, scope: m.Scope, executor: CachedExecutor, max_points: int
) -> Callable[[list[m.KpiRequest]], Any]:
    """Built-in KPIs through the cache; a batch naming other KPIs reads the scope's stored
    definitions and runs uncached on the registry extended with them (a definition may
    change at any time, and the cache is keyed by data, not by definitions).

    Every batch is first charged to the request's work budget (core.metrics.cost): the
    points of all ``metrics`` selections of one request add up, so aliases do not multiply
    it."""
    registry = executor.executor.registry

    async def load(requests: list[m.KpiRequest]) -> Sequence[m.KpiResult | BaseException]:
        spent = session.info.get(_POINTS_SPENT, 0)
        spent += cost.batch_points(requests, registry, datetime.now(UTC))
        session.info[_POINTS_SPENT] = spent
        cost.check_points(spent, max_points)
        if all(r.kpi in registry.kpis for r in requests):
            return await executor.run(session, scope, requests)
        found = await user_kpis.scope_kpis(session, registry, scope.workspace_ids)
        if not found:
            return await executor.run(session, scope, requests)
        extended = registry.extended(
            [measure for k in found for measure in k.measures], [k.definition for k in found]
        )
        return await m.MetricsExecutor(extended).run(session, scope, requests)

    return load


def _scope(
    info: Info[Context, Any],
    workspace_id: strawberry.ID | None,
    workspace_ids: list[strawberry.ID] | None,
    currency: str | None,
) -> m.Scope:
    viewer = info.context.require_viewer()
    if workspace_id is not None and workspace_ids:
        raise ValidationError("give workspaceId or workspaceIds, not both")
    wanted = (
        [str(workspace_id)] if workspace_id is not None else [str(w) for w in workspace_ids or []]
    )
    ids = [viewer.require_workspace(w) for w in wanted] or sorted(viewer.workspace_ids)
    if not ids:
        raise ValidationError("this API key cannot read any workspace")
    if currency is not None and not _CURRENCY.match(currency):
        raise ValidationError(f"{currency!r} is not an ISO 4217 currency code")
    return m.Scope(tuple(dict.fromkeys(ids)), currency.upper() if currency else None)


def create_metrics_query(registry: m.MetricRegistry | None = None) -> type:
    """The per-domain query type with ``metrics`` and ``kpiDefinitions``."""
    registry = registry or m.build_registry()
    metrics_type = create_metrics_type(registry)
    executor = CachedExecutor(m.MetricsExecutor(registry))

    def metrics(
        info: Info[Context, Any],
        workspace_id: strawberry.ID | None = None,
        workspace_ids: list[strawberry.ID] | None = None,
        currency: str | None = None,
    ) -> MetricsRoot:
        scope = _scope(info, workspace_id, workspace_ids, currency)
        settings = info.context.settings
        runner = executor
        if settings.cache == "database":
            ttl = timedelta(seconds=settings.cache_ttl_seconds)
            runner = CachedExecutor(
                executor.executor, DatabaseStore(info.context.sessionmaker, ttl)
            )
        loader = DataLoader(
            load_fn=_batch(info.context.session, scope, runner, settings.metrics_max_points)
        )
        return MetricsRoot(loader, registry, scope)

    async def kpi_definitions(info: Info[Context, Any]) -> list[KpiDefinition]:
        """Built-ins, then (for an authenticated caller) the user-defined KPIs it can see."""
        found = [
            KpiDefinition(name=k.name, kind=k.kind, unit=k.unit, description=k.description)
            for k in registry.kpis.values()
        ]
        viewer = info.context.viewer
        if viewer is None:
            return found
        rows = await user_kpis.list_kpis(info.context.session, viewer.organization_id)
        found += [KpiDefinition.of_user(row) for row in rows]
        return found

    root_fields: list[Any] = [
        strawberry.field(
            resolver=metrics,
            name="metrics",
            graphql_type=metrics_type,
            permission_classes=[IsAuthenticated],
            description="KPIs over one workspace, several (roll-up), or every readable one; "
            "money in `currency` (default: the first workspace's).",
        ),
        strawberry.field(
            resolver=kpi_definitions,
            name="kpiDefinitions",
            description="Every KPI: name, kind, unit and definition; user-defined KPIs of the "
            "caller's organization and workspaces follow the built-ins.",
        ),
    ]
    return create_type("MetricsQuery", root_fields)


MetricsQuery = create_metrics_query()
