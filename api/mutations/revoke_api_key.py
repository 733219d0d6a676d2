"""``revokeApiKey``: refuse a key of the caller's organization from now on (admin)."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import IsAdmin
from api.types.tenancy import ApiKey
from core.errors import CrmkpiError
from core.models import ApiKey as ApiKeyRow
from core.tenancy import revoke_api_key


@strawberry.input(description="The key to revoke.")
class RevokeApiKeyInput:
    id: strawberry.ID


@strawberry.type(description="The key is revoked: requests with it are refused.")
class RevokeApiKeySuccess:
    api_key: ApiKey


@strawberry.type(description="No key was revoked.")
class RevokeApiKeyError(MutationError):
    pass


RevokeApiKeyResult = Annotated[
    RevokeApiKeySuccess | RevokeApiKeyError, strawberry.union("RevokeApiKeyResult")
]


@strawberry.type
class RevokeApiKeyMutation:
    @strawberry.mutation(description="Revoke an API key.", permission_classes=[IsAdmin])
    async def revoke_api_key(
        self, info: Info[Context, Any], input: RevokeApiKeyInput
    ) -> RevokeApiKeyResult:
        viewer = info.context.require_viewer()
        key_id = str(input.id)

        async def change(session: AsyncSession) -> ApiKeyRow:
            return await revoke_api_key(session, key_id, by=viewer)

        result = await apply(info.context, change)
        if isinstance(result, CrmkpiError):
            return RevokeApiKeyError.from_error(result)
        return RevokeApiKeySuccess(api_key=ApiKey.from_row(result))
