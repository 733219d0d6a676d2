"""The registry of measures and KPIs: built-ins plus plugins, validated when built."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import pluggy

from core.metrics.crm_sources import FACTS, KPI_FACTS
from core.metrics.customer_kpis import CUSTOMER_KPIS, MARKETING_KPIS
from core.metrics.customers import CUSTOMER_MEASURES
from core.metrics.definitions import BUILTIN_KPIS, KpiDefinition
from core.metrics.marketing import MARKETING_MEASURES
from core.metrics.measures import MEASURES, Measure
from core.metrics.types import Agg, Entity

#: Extra cells a MONEY measure yields besides its converted sum.
MONEY_PARTS = ("missing", "converted")


class MetricRegistry:
    """Measures and KPIs by name. ``register`` checks every reference at once."""

    def __init__(self) -> None:
        self.measures: dict[str, Measure] = {}
        self.kpis: dict[str, KpiDefinition] = {}

    def register_measure(self, measure: Measure) -> None:
        if measure.name in self.measures or "." in measure.name:
            raise ValueError(f"measure name {measure.name!r} is taken or invalid")
        self.measures[measure.name] = measure

    def measure(self, cell_name: str) -> Measure:
        """The measure behind a cell name (``won_amount`` or ``won_amount.missing``)."""
        return self.measures[cell_name.split(".", 1)[0]]

    def _check_cell(self, kpi: str, cell_name: str) -> None:
        base, _, part = cell_name.partition(".")
        measure = self.measures.get(base)
        if measure is None:
            raise ValueError(f"KPI {kpi}: unknown measure {base!r}")
        if part and (measure.agg is not Agg.MONEY or part not in MONEY_PARTS):
            raise ValueError(f"KPI {kpi}: {cell_name!r} is not a part of a money measure")

    def register(self, kpi: KpiDefinition) -> None:
        if kpi.name in self.kpis:
            raise ValueError(f"KPI {kpi.name!r} is already registered")
        if not kpi.name.isidentifier():
            raise ValueError(f"KPI name {kpi.name!r} must be a GraphQL field name")
        for cell_name in kpi.formula.measures():
            self._check_cell(kpi.name, cell_name)
        unknown = [fact for fact in kpi.facts if fact not in FACTS]
        if unknown:
            raise ValueError(f"KPI {kpi.name}: unknown CRM facts {unknown}")
        if kpi.percentile is not None:
            self._check_cell(kpi.name, kpi.percentile)
            if self.measures[kpi.percentile].agg is not Agg.SUM:
                raise ValueError(f"KPI {kpi.name}: percentile needs a SUM measure")
        self.kpis[kpi.name] = kpi

    def extended(
        self, measures: Iterable[Measure], kpis: Iterable[KpiDefinition]
    ) -> MetricRegistry:
        """A copy with more measures and KPIs (a tenant's user-defined KPIs), this one unchanged."""
        copy = MetricRegistry()
        copy.measures, copy.kpis = dict(self.measures), dict(self.kpis)
        for measure in measures:
            copy.register_measure(measure)
        for kpi in kpis:
            copy.register(kpi)
        return copy

    def get(self, name: str) -> KpiDefinition | None:
        return self.kpis.get(name)

    def entities(self, kpi: KpiDefinition) -> set[Entity]:
        return {self.measure(m).entity for m in kpi.formula.measures()}

    def money_measures(self, kpi: KpiDefinition) -> list[str]:
        names = {self.measure(m).name for m in kpi.formula.measures()}
        return sorted(n for n in names if self.measures[n].agg is Agg.MONEY)


def build_registry(
    pm: pluggy.PluginManager | None = None, extra: Iterable[KpiDefinition] = ()
) -> MetricRegistry:
    """Built-in measures and KPIs, then plugins (``crmkpi_register_metrics``), then ``extra``."""
    registry = MetricRegistry()
    for measure in MEASURES + CUSTOMER_MEASURES + MARKETING_MEASURES:
        registry.register_measure(measure)
    for kpi in BUILTIN_KPIS + CUSTOMER_KPIS + MARKETING_KPIS:
        registry.register(replace(kpi, facts=KPI_FACTS.get(kpi.name, kpi.facts)))
    if pm is not None:
        pm.hook.crmkpi_register_metrics(registry=registry)
    for kpi in extra:
        registry.register(kpi)
    return registry
