"""``addConnection``: connect a CRM account to a workspace (editor).

Credentials are checked against the connector's declared fields and stored encrypted
(core.secrets); they are never returned. Use ``verifyCredentials`` first to check them
against the CRM itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.permissions import CanWrite
from api.types.connections import CrmConnection
from core.egress import check_base_url
from core.errors import CrmkpiError, ValidationError
from core.models import Connection as ConnectionRow
from core.plugins import connector_classes
from core.secrets import Vault
from core.sync.connections import create_connection

MAX_CREDENTIALS = 20


@strawberry.input(description="One credential field (see the connector's credential fields).")
class CredentialInput:
    name: str
    value: str


def credentials_dict(items: list[CredentialInput]) -> dict[str, str]:
    """The credentials as a dict; messages name fields, never values."""
    if len(items) > MAX_CREDENTIALS:
        raise ValidationError(f"at most {MAX_CREDENTIALS} credential fields")
    out: dict[str, str] = {}
    for item in items:
        if item.name in out:
            raise ValidationError(f"credential field {item.name[:64]!r} given twice")
        if len(item.value) > 10_000:
            raise ValidationError(f"credential field {item.name[:64]!r} is too long")
        out[item.name] = item.value
    return out


@strawberry.input(description="One non-secret connector option (the connector's option fields).")
class ConnectionOptionInput:
    name: str
    value: str


def options_dict(items: list[ConnectionOptionInput] | None) -> dict[str, str]:
    """The options as a dict (checked against the connector's fields by create_connection)."""
    out: dict[str, str] = {}
    for item in items or []:
        if item.name in out:
            raise ValidationError(f"option {item.name[:64]!r} given twice")
        if len(item.value) > 1_000:
            raise ValidationError(f"option {item.name[:64]!r} is too long")
        out[item.name] = item.value
    return out


@strawberry.input(description="A CRM account to connect.")
class AddConnectionInput:
    workspace_id: strawberry.ID
    connector: str = strawberry.field(description="hubspot, pipedrive, salesforce, ...")
    credentials: list[CredentialInput] = strawberry.field(description="Stored encrypted.")
    base_url: str | None = strawberry.field(
        default=None, description="API base URL (sandbox, EU data centre, simulator)."
    )
    name: str = strawberry.field(default="", description="A label; default: the CRM's name.")
    schedule: str | None = strawberry.field(
        default=None, description="'15m', '1h' or a cron expression; null: manual syncs only."
    )
    lookback_minutes: int | None = strawberry.field(
        default=None,
        description="Minutes incremental syncs re-read before their last cursor, 0 to 10080 "
        "(null: the default, 10); setConnectionLookback changes it later.",
    )
    options: list[ConnectionOptionInput] | None = strawberry.field(
        default=None,
        description="Non-secret connector options (stored unencrypted); see the connector's "
        "option fields.",
    )


@strawberry.type(
    description="The connection was added; sync it with triggerSync. Its capabilities are "
    "discovered by verifyCredentials (with its id) or its first full sync."
)
class AddConnectionSuccess:
    connection: CrmConnection


@strawberry.type(description="No connection was added.")
class AddConnectionError(MutationError):
    pass


AddConnectionResult = Annotated[
    AddConnectionSuccess | AddConnectionError, strawberry.union("AddConnectionResult")
]


@strawberry.type
class AddConnectionMutation:
    @strawberry.mutation(
        description="Connect a CRM account to a workspace.", permission_classes=[CanWrite]
    )
    async def add_connection(
        self, info: Info[Context, Any], input: AddConnectionInput
    ) -> AddConnectionResult:
        ctx = info.context
        viewer = ctx.require_viewer()

        async def change(session: AsyncSession) -> ConnectionRow:
            workspace_id = viewer.require_workspace(str(input.workspace_id))
            if input.base_url is not None:
                await check_base_url(input.base_url, ctx.settings.connection_allowed_hosts)
            connection = await create_connection(
                session,
                Vault.from_settings(ctx.settings),
                connector_classes(ctx.plugins),
                workspace_id=workspace_id,
                connector=input.connector,
                credentials=credentials_dict(input.credentials),
                base_url=input.base_url,
                name=input.name,
                options=options_dict(input.options),
                schedule=input.schedule,
                lookback_minutes=input.lookback_minutes,
            )
            return connection

        result = await apply(ctx, change)
        if isinstance(result, CrmkpiError):
            return AddConnectionError.from_error(result)
        return AddConnectionSuccess(connection=CrmConnection.from_row(result))
