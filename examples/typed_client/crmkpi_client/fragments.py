from typing import Optional

from pydantic import Field

from .base_model import BaseModel
from .enums import Unit


class KpiValue(BaseModel):
    name: str
    unit: Unit
    value: Optional[float]
    numerator: Optional[float]
    denominator: Optional[float]
    currency: Optional[str]
    null_reason: Optional[str] = Field(alias="nullReason")
    comparison: Optional["KpiValueComparison"]


class KpiValueComparison(BaseModel):
    value: Optional[float]
    change: Optional[float]
    change_ratio: Optional[float] = Field(alias="changeRatio")


KpiValue.model_rebuild()
