"""`importSurveys`: the GraphQL twin of `crmkpi import surveys`."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._imports import run_import
from api.permissions import CanWrite
from api.types.imports import ImportInput, ImportPayload


@strawberry.type
class ImportSurveysMutation:
    @strawberry.mutation(
        description=(
            "Import NPS and CSAT survey responses "
            "(CSV: id,kind,responded_at,score,account_id,contact_email). "
            "Validated row by row; all or nothing; re-importing changes nothing."
        ),
        permission_classes=[CanWrite],
    )
    async def import_surveys(self, info: Info[Context, Any], input: ImportInput) -> ImportPayload:
        return await run_import(info, "surveys", input)
