from .base_model import BaseModel


class Workspaces(BaseModel):
    workspaces: list["WorkspacesWorkspaces"]


class WorkspacesWorkspaces(BaseModel):
    id: str
    name: str
    timezone: str
    currency: str


Workspaces.model_rebuild()
