from typing import Any, Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Unit


class MonthlyTrend(BaseModel):
    metrics: "MonthlyTrendMetrics"


class MonthlyTrendMetrics(BaseModel):
    sales_revenue: Optional["MonthlyTrendMetricsSalesRevenue"] = Field(
        alias="salesRevenue"
    )


class MonthlyTrendMetricsSalesRevenue(BaseModel):
    unit: Unit
    currency: Optional[str]
    series: Optional[list["MonthlyTrendMetricsSalesRevenueSeries"]]


class MonthlyTrendMetricsSalesRevenueSeries(BaseModel):
    label: str
    start: Any
    end: Any
    value: Optional[float]
    partial: bool


MonthlyTrend.model_rebuild()
MonthlyTrendMetrics.model_rebuild()
MonthlyTrendMetricsSalesRevenue.model_rebuild()
