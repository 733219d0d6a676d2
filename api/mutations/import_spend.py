"""`importSpend`: the GraphQL twin of `crmkpi import spend`."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._imports import run_import
from api.permissions import CanWrite
from api.types.imports import ImportInput, ImportPayload


@strawberry.type
class ImportSpendMutation:
    @strawberry.mutation(
        description=(
            "Import marketing and sales spend "
            "(CSV: day,kind,channel,campaign,amount,currency). "
            "Validated row by row; all or nothing; re-importing changes nothing."
        ),
        permission_classes=[CanWrite],
    )
    async def import_spend(self, info: Info[Context, Any], input: ImportInput) -> ImportPayload:
        return await run_import(info, "spend", input)
