"""``importData``: spend, visitors or survey responses of a workspace, from CSV (editor)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from core.errors import CrmkpiError
from core.imports import ImportKind, import_csv

ImportKindType = strawberry.enum(
    ImportKind, name="ImportKind", description="What a CSV import holds."
)


@strawberry.input(
    description="CSV with a header line. SPEND: day, kind (MARKETING|SALES), amount, currency"
    "[, channel, campaign]. VISITORS: day, count[, channel]. SURVEYS: kind (NPS|CSAT), "
    "external_id, responded_at (ISO with offset), score[, account_remote_id, contact_email]."
)
class ImportDataInput:
    workspace_id: strawberry.ID
    kind: ImportKind
    csv: str = strawberry.field(description="The file's text (UTF-8).")


@strawberry.type(description="Every row was imported (re-importing a row replaces it).")
class ImportDataSuccess:
    rows: int


@strawberry.type(description="Nothing was imported: the message names the bad line.")
class ImportDataError(MutationError):
    pass


ImportDataResult = Annotated[
    ImportDataSuccess | ImportDataError, strawberry.union("ImportDataResult")
]


@strawberry.type
class ImportDataMutation:
    @strawberry.mutation(
        description="Import spend, visitors or survey responses; all rows or none.",
        permission_classes=[CanWrite],
    )
    async def import_data(
        self, info: Info[Context, Any], input: ImportDataInput
    ) -> ImportDataResult:
        viewer = info.context.require_viewer()

        async def change(session: AsyncSession) -> int:
            workspace_id = viewer.require_workspace(str(input.workspace_id))
            return await import_csv(session, input.kind, input.csv, workspace_id=workspace_id)

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return ImportDataError.from_error(result)
        return ImportDataSuccess(rows=result)
