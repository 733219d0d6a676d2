"""The metrics core: KPIs declared as data, compiled to conditional-aggregate SQL.

Public API: build a registry, describe requests, run them with an executor.

The public names are imported on first use (PEP 562): a process that only syncs imports
``core.metrics.stretch_refresh`` (through the writer) and with it this package, and the
whole metrics engine behind these names cost it about a tenth of a second of start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Imported for their ORM flush hooks: deals and activities written through a session keep
# the maintained customer stretches and daily rollups current wherever the metrics are in use.
from core.metrics import rollup_refresh as _rollup_refresh  # noqa: F401
from core.metrics import stretch_refresh as _stretch_refresh  # noqa: F401

if TYPE_CHECKING:
    from core.metrics.definitions import BUILTIN_KPIS, KpiDefinition
    from core.metrics.dimensions import Dimension, DimensionRef
    from core.metrics.executor import MetricsExecutor
    from core.metrics.periods import Calendar, PeriodSpec, Preset
    from core.metrics.query import KpiRequest, KpiResult, Scope
    from core.metrics.registry import MetricRegistry, build_registry
    from core.metrics.segments import Breakdown, Segment
    from core.metrics.types import Comparison, Granularity, KpiKind, Statistic, Unit

#: Public name -> the module defining it.
_SOURCES = {
    "BUILTIN_KPIS": "definitions",
    "KpiDefinition": "definitions",
    "Dimension": "dimensions",
    "DimensionRef": "dimensions",
    "MetricsExecutor": "executor",
    "Calendar": "periods",
    "PeriodSpec": "periods",
    "Preset": "periods",
    "KpiRequest": "query",
    "KpiResult": "query",
    "Scope": "query",
    "MetricRegistry": "registry",
    "build_registry": "registry",
    "Breakdown": "segments",
    "Segment": "segments",
    "Comparison": "types",
    "Granularity": "types",
    "KpiKind": "types",
    "Statistic": "types",
    "Unit": "types",
}

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


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept as a global)."""
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{source}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
