"""``importFx``: the GraphQL twin of ``crmkpi import fx --workspace`` (editor).

Rates of one workspace only: global rates serve every tenant, so only the operator's CLI
writes them. Parsing and storing are core.metrics.fx.import_fx, shared with the CLI.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from core.errors import CrmkpiError
from core.metrics.fx import import_fx


@strawberry.input(description="A CSV file of FX rates (day,currency,rate[,base]) for a workspace.")
class ImportFxInput:
    workspace_id: strawberry.ID
    csv: str = strawberry.field(
        description="Each row says 1 `currency` = `rate` `base` on `day`; a header line is "
        "optional. Rates replace those of the same day, currency and base."
    )
    base: str | None = strawberry.field(
        default=None,
        description="Base currency of rows without one; null: the workspace's currency.",
    )


@strawberry.type(description="The rates are stored and convert money from now on.")
class ImportFxSuccess:
    workspace_id: strawberry.ID
    imported: int = strawberry.field(description="Rates stored (a repeated row counts once).")


@strawberry.type(description="No rate was stored (the message names the first bad line).")
class ImportFxError(MutationError):
    pass


ImportFxResult = Annotated[ImportFxSuccess | ImportFxError, strawberry.union("ImportFxResult")]


@strawberry.type
class ImportFxMutation:
    @strawberry.mutation(
        description="Import FX rates for currencies the CRMs do not convert, for one "
        "workspace; all or nothing.",
        permission_classes=[CanWrite],
    )
    async def import_fx(self, info: Info[Context, Any], input: ImportFxInput) -> ImportFxResult:
        viewer = info.context.require_viewer()

        async def change(session: AsyncSession) -> int:
            workspace_id = viewer.require_workspace(str(input.workspace_id))
            return await import_fx(session, input.csv, workspace_id=workspace_id, base=input.base)

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return ImportFxError.from_error(result)
        return ImportFxSuccess(workspace_id=input.workspace_id, imported=result)
