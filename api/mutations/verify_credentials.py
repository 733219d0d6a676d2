"""``verifyCredentials``: ask the CRM whether credentials work, before or after adding them,
and what the account offers.

Given a connection, its stored credentials are checked and the capabilities discovered are
stored on it; given a connector and credentials, nothing is stored. Either way the CRM is
asked with the connection's credentials only (editor).
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.mutations._support import MutationError, apply
from api.mutations.add_connection import CredentialInput, credentials_dict
from api.permissions import CanWrite
from api.types.connections import ConnectionCapability, capabilities_of
from core.connections import check_account, check_connection
from core.egress import EgressPolicy, check_base_url
from core.errors import CrmkpiError, ValidationError
from core.plugins import connector_classes
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
    capabilities: list[ConnectionCapability] | None = strawberry.field(
        default=None,
        description="What the account offers; null when the credentials were refused or "
        "the discovery failed (see capabilitiesError).",
    )
    capabilities_error: str | None = strawberry.field(
        default=None, description="Why the capabilities could not be discovered."
    )


@strawberry.type(description="The check could not run.")
class VerifyCredentialsError(MutationError):
    pass


VerifyCredentialsResult = Annotated[
    VerifyCredentialsSuccess | VerifyCredentialsError, strawberry.union("VerifyCredentialsResult")
]


@strawberry.type
class VerifyCredentialsMutation:
    @strawberry.mutation(
        description="Check CRM credentials and discover the account's capabilities; for a "
        "connection, the capabilities are stored on it.",
        permission_classes=[CanWrite],
    )
    async def verify_credentials(
        self, info: Info[Context, Any], input: VerifyCredentialsInput
    ) -> VerifyCredentialsResult:
        ctx = info.context
        classes = connector_classes(ctx.plugins)
        try:
            if input.connection_id is not None:
                egress = EgressPolicy.from_settings(ctx.settings)
                connection_id = str(input.connection_id)
                result = await apply(
                    ctx,
                    lambda s: check_connection(
                        s, ctx.settings, classes, connection_id, egress=egress
                    ),
                )
                if isinstance(result, CrmkpiError):
                    raise result
                check = result[1]
            elif input.connector is not None and input.credentials is not None:
                cls = connector_class(classes, input.connector)
                if input.base_url is not None:
                    await check_base_url(input.base_url, ctx.settings.connection_allowed_hosts)
                check = await check_account(
                    cls,
                    credentials_dict(input.credentials),
                    input.base_url,
                    egress=EgressPolicy.from_settings(ctx.settings),
                )
            else:
                raise ValidationError("give a connectionId, or a connector and its credentials")
        except CrmkpiError as exc:
            return VerifyCredentialsError.from_error(exc)
        found = check.capabilities
        return VerifyCredentialsSuccess(
            ok=check.ok,
            reason=check.reason,
            capabilities=None if found is None else capabilities_of(found.to_json()),
            capabilities_error=check.discovery_error,
        )
