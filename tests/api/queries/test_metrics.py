"""The generated KPI fields pass each of their arguments into the request they batch.

No database: the loader records the requests and fails them, so every field answers null
with an error and the test reads what the resolvers asked for.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import strawberry
from strawberry.dataloader import DataLoader

from api.queries.metrics import MetricsRoot, create_metrics_type
from core import metrics as m

QUERY = """
{
  metrics {
    salesRevenue(asOf: "2026-01-02T03:04:05+00:00", compareTo: PREVIOUS_PERIOD) { value }
    averageSalesCycleDays(statistic: MEDIAN) { value }
    leadConversionRate(withinDays: 30) { value }
    incrementalRevenue(baselinePeriods: 2) { value }
    kpi(name: "stageDuration", statistic: P90, withinDays: 7, baselinePeriods: 4) { value }
  }
}
"""


def _schema(recorded: list[m.KpiRequest]) -> strawberry.Schema:
    async def load(requests: list[m.KpiRequest]) -> list[BaseException]:
        recorded.extend(requests)
        return [LookupError("recorded only") for _ in requests]

    metrics_type = create_metrics_type(m.build_registry())

    def metrics() -> MetricsRoot:
        return MetricsRoot(DataLoader(load_fn=load))

    query: Any = strawberry.tools.create_type(
        "Query", [strawberry.field(resolver=metrics, name="metrics", graphql_type=metrics_type)]
    )
    return strawberry.Schema(query=query)


async def test_each_field_passes_its_own_arguments() -> None:
    recorded: list[m.KpiRequest] = []
    result = await _schema(recorded).execute(QUERY)
    assert result.errors is not None and len(result.errors) == 5
    by_kpi = {r.kpi: r for r in recorded}
    assert by_kpi["salesRevenue"].as_of == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert by_kpi["salesRevenue"].compare_to == m.Comparison.PREVIOUS_PERIOD
    assert by_kpi["salesRevenue"].statistic == m.Statistic.MEAN
    assert by_kpi["averageSalesCycleDays"].statistic == m.Statistic.MEDIAN
    assert by_kpi["leadConversionRate"].within_days == 30
    assert by_kpi["incrementalRevenue"].baseline_periods == 2
    any_kpi = by_kpi["stageDuration"]
    assert (any_kpi.statistic, any_kpi.within_days, any_kpi.baseline_periods) == (
        m.Statistic.P90,
        7,
        4,
    )


async def test_a_field_rejects_an_argument_its_kpi_does_not_take() -> None:
    result = await _schema([]).execute("{ metrics { salesRevenue(withinDays: 3) { value } } }")
    assert result.errors is not None
    assert "withinDays" in result.errors[0].message
