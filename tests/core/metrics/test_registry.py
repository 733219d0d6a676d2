"""The registry: references checked when KPIs are registered; user-defined KPIs."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

import core.metrics
from core.metrics import BUILTIN_KPIS, KpiDefinition, KpiKind, KpiRequest, PeriodSpec, Unit
from core.metrics.customer_kpis import CUSTOMER_KPIS, MARKETING_KPIS
from core.metrics.formulas import Ratio, Single
from core.metrics.registry import build_registry
from core.plugins import create_plugin_manager, hookimpl
from tests.core.metrics.factory import Seed, utc


def test_public_api_is_sorted_and_complete() -> None:
    assert core.metrics.__all__ == sorted(core.metrics.__all__)
    assert all(hasattr(core.metrics, name) for name in core.metrics.__all__)


def test_every_builtin_kpi_has_a_description_and_valid_references() -> None:
    registry = build_registry()
    assert len(registry.kpis) == len(BUILTIN_KPIS + CUSTOMER_KPIS + MARKETING_KPIS)
    for kpi in registry.kpis.values():
        assert kpi.description.endswith(".") and len(kpi.description) > 20


def test_bad_references_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown measure"):
        build_registry(extra=[KpiDefinition("x", KpiKind.FLOW, Unit.COUNT, "x.", Single("nope"))])
    with pytest.raises(ValueError, match="already registered"):
        build_registry(extra=[BUILTIN_KPIS[0]])
    bad_part = KpiDefinition("y", KpiKind.FLOW, Unit.COUNT, "y.", Single("deals_won.missing"))
    with pytest.raises(ValueError, match="not a part of a money measure"):
        build_registry(extra=[bad_part])


class LostShare:
    """A user-defined KPI from built-in measures, registered through the plugin hook."""

    @hookimpl
    def crmkpi_register_metrics(self, registry: object) -> None:
        assert isinstance(registry, core.metrics.MetricRegistry)
        registry.register(
            KpiDefinition(
                "lossRate",
                KpiKind.FLOW,
                Unit.RATIO,
                "Deals lost ÷ deals closed.",
                Ratio("deals_lost", "deals_closed", "nothing closed"),
            )
        )


async def test_plugin_kpis_are_answered_like_builtins(session: AsyncSession) -> None:
    registry = build_registry(create_plugin_manager(load_entrypoints=False, plugins=[LostShare()]))
    seed = await Seed.create(session)
    await seed.deals(3, status="LOST", closed_at=utc(2026, 3, 3), remote_created_at=utc(2026, 1, 1))
    await seed.deal(status="WON", closed_at=utc(2026, 3, 3), remote_created_at=utc(2026, 1, 1))
    await session.commit()
    (result,) = await core.metrics.MetricsExecutor(registry).run(
        session,
        core.metrics.Scope((seed.workspace.id,)),
        [
            KpiRequest(
                "lossRate",
                period=PeriodSpec(start=utc(2026, 3, 1).date(), end=utc(2026, 4, 1).date()),
            )
        ],
        now=utc(2026, 5, 1),
    )
    assert isinstance(result, core.metrics.KpiResult) and result.value == 0.75
