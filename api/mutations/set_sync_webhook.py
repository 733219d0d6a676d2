"""``setSyncWebhook``: where a workspace hears that a sync ended (editor).

The signing secret is in the answer once and never again (core.sync.notify).
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from core.egress import check_base_url
from core.errors import CrmkpiError
from core.secrets import Vault
from core.sync.notify import clear_sync_webhook, set_sync_webhook


@strawberry.input(description="The workspace, and its webhook URL (null removes it).")
class SetSyncWebhookInput:
    workspace_id: strawberry.ID
    url: str | None = strawberry.field(description="An absolute http(s) URL, or null.")


@strawberry.type(description="The webhook changed.")
class SetSyncWebhookSuccess:
    workspace_id: strawberry.ID
    url: str | None = strawberry.field(description="null: no webhook.")
    secret: str | None = strawberry.field(
        description="HMAC-SHA256 key of X-Crmkpi-Signature: shown only now, store it."
    )


@strawberry.type(description="The webhook was not changed.")
class SetSyncWebhookError(MutationError):
    pass


SetSyncWebhookResult = Annotated[
    SetSyncWebhookSuccess | SetSyncWebhookError, strawberry.union("SetSyncWebhookResult")
]


@strawberry.type
class SetSyncWebhookMutation:
    @strawberry.mutation(
        description="Set or remove the URL POSTed (signed) when a sync of the workspace ends.",
        permission_classes=[CanWrite],
    )
    async def set_sync_webhook(
        self, info: Info[Context, Any], input: SetSyncWebhookInput
    ) -> SetSyncWebhookResult:
        ctx = info.context
        viewer = ctx.require_viewer()

        async def change(session: AsyncSession) -> str | None:
            workspace_id = viewer.require_workspace(str(input.workspace_id))
            if input.url is None:
                await clear_sync_webhook(session, workspace_id)
                return None
            # The server POSTs to it: the same SSRF rule as CRM base URLs (core.egress).
            await check_base_url(input.url, ctx.settings.connection_allowed_hosts)
            vault = Vault.from_settings(ctx.settings)
            return await set_sync_webhook(session, vault, workspace_id, input.url)

        result = await apply(ctx, change)
        if isinstance(result, CrmkpiError):
            return SetSyncWebhookError.from_error(result)
        return SetSyncWebhookSuccess(
            workspace_id=input.workspace_id,
            url=input.url.strip() if input.url is not None else None,
            secret=result,
        )
