"""``verifyCredentials``: ask the CRM whether credentials work, before or after adding them.

Given a connection, its stored credentials are checked; given a connector and credentials,
nothing is stored. Either way one authenticated request is made to the CRM (editor).
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError
from api.mutations.add_connection import CredentialInput, credentials_dict
from api.permissions import CanWrite
from core.connections import verify_credentials
from core.egress import EgressPolicy, check_base_url
from core.errors import CrmkpiError, NotFoundError, ValidationError
from core.models import Connection as ConnectionRow
from core.plugins import connector_classes
from core.secrets import Vault
from core.sync.connections import connector_class


@strawberry.input(description="A connection id, or a connector with credentials to try.")
class VerifyCredentialsInput:
    connection_id: strawberry.ID | None = None
    connector: str | None = None
    credentials: list[CredentialInput] | None = None
    base_url: str | None = None


@strawberry.type(description="The check ran: `ok`, or the CRM's reason for refusing.")
class VerifyCredentialsSuccess:
    ok: bool
    reason: str | None = strawberry.field(description="Why the CRM refused, when it did.")


@strawberry.type(description="The check could not run.")
class VerifyCredentialsError(MutationError):
    pass


VerifyCredentialsResult = Annotated[
    VerifyCredentialsSuccess | VerifyCredentialsError, strawberry.union("VerifyCredentialsResult")
]


@strawberry.type
class VerifyCredentialsMutation:
    @strawberry.mutation(
        description="Check CRM credentials with one request; stores nothing.",
        permission_classes=[CanWrite],
    )
    async def verify_credentials(
        self, info: Info[Context, Any], input: VerifyCredentialsInput
    ) -> VerifyCredentialsResult:
        ctx = info.context
        classes = connector_classes(ctx.plugins)
        try:
            if input.connection_id is not None:
                connection = await ctx.session.get(ConnectionRow, str(input.connection_id))
                if connection is None:
                    raise NotFoundError(f"connection {str(input.connection_id)!r} not found")
                cls = connector_class(classes, connection.connector)
                stored = connection.credentials_encrypted
                credentials = Vault.from_settings(ctx.settings).decrypt(stored) if stored else {}
                base_url = connection.base_url
            elif input.connector is not None and input.credentials is not None:
                cls = connector_class(classes, input.connector)
                credentials = credentials_dict(input.credentials)
                base_url = input.base_url
                if base_url is not None:
                    await check_base_url(base_url, ctx.settings.connection_allowed_hosts)
            else:
                raise ValidationError("give a connectionId, or a connector and its credentials")
            reason = await verify_credentials(
                cls, credentials, base_url, egress=EgressPolicy.from_settings(ctx.settings)
            )
        except CrmkpiError as exc:
            return VerifyCredentialsError.from_error(exc)
        return VerifyCredentialsSuccess(ok=reason is None, reason=reason)
