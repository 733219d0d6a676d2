"""``connectors``: the installed CRM connectors and what adding a connection needs."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from api.context import Context
from api.permissions import IsAuthenticated
from core.plugins import connector_classes
from core.sync.described import ConnectorDescription, describe_connectors


@strawberry.type(description="A credential a connection of this connector needs.")
class ConnectorCredentialField:
    name: str
    description: str
    secret: bool = strawberry.field(description="Never shown again once stored.")
    required: bool


@strawberry.type(description="A non-secret option of a connection (addConnection options).")
class ConnectorOptionField:
    name: str
    description: str
    default: str | None = strawberry.field(description="What applies when it is not set.")


@strawberry.type(description="An installed CRM connector (plugin).")
class Connector:
    name: str = strawberry.field(description="What addConnection's connector takes.")
    title: str
    default_base_url: str = strawberry.field(description="Used when baseUrl is not given.")
    credential_fields: list[ConnectorCredentialField]
    option_fields: list[ConnectorOptionField]
    streams: list[str] = strawberry.field(description="What a sync reads.")
    simulator: bool = strawberry.field(description="Whether `crmkpi simulate NAME` serves it.")

    @classmethod
    def of(cls, d: ConnectorDescription) -> Connector:
        return cls(
            name=d.name,
            title=d.title,
            default_base_url=d.default_base_url,
            credential_fields=[
                ConnectorCredentialField(
                    name=f.name, description=f.description, secret=f.secret, required=f.required
                )
                for f in d.credential_fields
            ],
            option_fields=[
                ConnectorOptionField(name=f.name, description=f.description, default=f.default)
                for f in d.option_fields
            ],
            streams=list(d.streams),
            simulator=d.simulator,
        )


@strawberry.type
class ConnectorsQuery:
    @strawberry.field(
        description="The installed CRM connectors, with the credentials and options "
        "addConnection takes (as `crmkpi connectors list`).",
        permission_classes=[IsAuthenticated],
    )
    def connectors(self, info: Info[Context, Any]) -> list[Connector]:
        classes = connector_classes(info.context.plugins)
        return [Connector.of(d) for d in describe_connectors(classes)]
