from typing import Optional

from pydantic import Field

from .base_model import BaseModel


class Pipelines(BaseModel):
    pipelines: list["PipelinesPipelines"]


class PipelinesPipelines(BaseModel):
    id: str
    name: Optional[str]
    workspace_id: str = Field(alias="workspaceId")
    stages: list["PipelinesPipelinesStages"]


class PipelinesPipelinesStages(BaseModel):
    id: str
    name: Optional[str]
    display_order: int = Field(alias="displayOrder")
    kind: Optional[str]


Pipelines.model_rebuild()
PipelinesPipelines.model_rebuild()
