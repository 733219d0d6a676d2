from typing import Any, Optional, Union

from .async_base_client import AsyncBaseClient
from .base_model import UNSET, UnsetType
from .enums import Comparison
from .input_types import PeriodInput
from .monthly_trend import MonthlyTrend
from .pipelines import Pipelines
from .tiles import Tiles
from .workspaces import Workspaces


def gql(q: str) -> str:
    return q


class CrmkpiClient(AsyncBaseClient):
    async def workspaces(self, **kwargs: Any) -> Workspaces:
        query = gql("""
            query Workspaces {
              workspaces {
                id
                name
                timezone
                currency
              }
            }
            """)
        variables: dict[str, object] = {}
        response = await self.execute(
            query=query, operation_name="Workspaces", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Workspaces.model_validate(data)

    async def tiles(
        self,
        workspace_id: str,
        period: PeriodInput,
        compare_to: Union[Optional[Comparison], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Tiles:
        query = gql("""
            query Tiles($workspaceId: ID!, $period: PeriodInput!, $compareTo: Comparison) {
              metrics(workspaceId: $workspaceId) {
                salesRevenue(period: $period, compareTo: $compareTo) {
                  ...KpiValue
                }
                dealsWon(period: $period, compareTo: $compareTo) {
                  ...KpiValue
                }
                winRate(period: $period, compareTo: $compareTo) {
                  ...KpiValue
                }
              }
            }

            fragment KpiValue on KpiResult {
              name
              unit
              value
              numerator
              denominator
              currency
              nullReason
              comparison {
                value
                change
                changeRatio
              }
            }
            """)
        variables: dict[str, object] = {
            "workspaceId": workspace_id,
            "period": period,
            "compareTo": compare_to,
        }
        response = await self.execute(
            query=query, operation_name="Tiles", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Tiles.model_validate(data)

    async def monthly_trend(
        self, workspace_id: str, period: PeriodInput, **kwargs: Any
    ) -> MonthlyTrend:
        query = gql("""
            query MonthlyTrend($workspaceId: ID!, $period: PeriodInput!) {
              metrics(workspaceId: $workspaceId) {
                salesRevenue(period: $period, granularity: MONTH) {
                  unit
                  currency
                  series {
                    label
                    start
                    end
                    value
                    partial
                  }
                }
              }
            }
            """)
        variables: dict[str, object] = {"workspaceId": workspace_id, "period": period}
        response = await self.execute(
            query=query, operation_name="MonthlyTrend", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return MonthlyTrend.model_validate(data)

    async def pipelines(
        self,
        workspace_ids: Union[Optional[list[str]], UnsetType] = UNSET,
        **kwargs: Any,
    ) -> Pipelines:
        query = gql("""
            query Pipelines($workspaceIds: [ID!]) {
              pipelines(workspaceIds: $workspaceIds) {
                id
                name
                workspaceId
                stages {
                  id
                  name
                  displayOrder
                  kind
                }
              }
            }
            """)
        variables: dict[str, object] = {"workspaceIds": workspace_ids}
        response = await self.execute(
            query=query, operation_name="Pipelines", variables=variables, **kwargs
        )
        data = self.get_data(response)
        return Pipelines.model_validate(data)
