from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .fragments import KpiValue


class Tiles(BaseModel):
    metrics: "TilesMetrics"


class TilesMetrics(BaseModel):
    sales_revenue: Optional["TilesMetricsSalesRevenue"] = Field(alias="salesRevenue")
    deals_won: Optional["TilesMetricsDealsWon"] = Field(alias="dealsWon")
    win_rate: Optional["TilesMetricsWinRate"] = Field(alias="winRate")


TilesMetricsSalesRevenue = KpiValue
TilesMetricsDealsWon = KpiValue
TilesMetricsWinRate = KpiValue
Tiles.model_rebuild()
TilesMetrics.model_rebuild()
