"""The metrics core: KPIs declared as data, compiled to conditional-aggregate SQL.

Public API: build a registry, describe requests, run them with an executor.
"""

# Imported for their ORM flush hooks: deals and activities written through a session keep
# the maintained customer stretches and daily rollups current wherever the metrics are in use.
from core.metrics import rollup_refresh as _rollup_refresh  # noqa: F401
from core.metrics import stretch_refresh as _stretch_refresh  # noqa: F401
from core.metrics.definitions import BUILTIN_KPIS, KpiDefinition
from core.metrics.dimensions import Dimension, DimensionRef
from core.metrics.executor import MetricsExecutor
from core.metrics.periods import Calendar, PeriodSpec, Preset
from core.metrics.query import KpiRequest, KpiResult, Scope
from core.metrics.registry import MetricRegistry, build_registry
from core.metrics.segments import Breakdown, Segment
from core.metrics.types import Comparison, Granularity, KpiKind, Statistic, Unit

__all__ = [
    "BUILTIN_KPIS",
    "Breakdown",
    "Calendar",
    "Comparison",
    "Dimension",
    "DimensionRef",
    "Granularity",
    "KpiDefinition",
    "KpiKind",
    "KpiRequest",
    "KpiResult",
    "MetricRegistry",
    "MetricsExecutor",
    "PeriodSpec",
    "Preset",
    "Scope",
    "Segment",
    "Statistic",
    "Unit",
    "build_registry",
]
