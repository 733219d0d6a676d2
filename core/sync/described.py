"""What a connector needs and offers, as ``crmkpi connectors list`` and the GraphQL query
``connectors`` both show it (a form that adds a connection is built from this)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.sync.connector import Connector, CredentialField, OptionField


@dataclass(frozen=True, slots=True)
class ConnectorDescription:
    name: str
    title: str
    default_base_url: str
    credential_fields: tuple[CredentialField, ...]
    option_fields: tuple[OptionField, ...]
    streams: tuple[str, ...]
    #: Whether it ships a simulator (``crmkpi simulate NAME``).
    simulator: bool


def describe_connectors(
    classes: Mapping[str, type[Connector]],
) -> list[ConnectorDescription]:
    """The installed connectors, in the plugin manager's order."""
    return [
        ConnectorDescription(
            name=name,
            title=cls.title,
            default_base_url=cls.default_base_url,
            credential_fields=tuple(cls.credential_fields),
            option_fields=tuple(cls.option_fields),
            streams=tuple(s.name for s in cls().streams()),
            simulator=any("simulator" in vars(k) for k in cls.__mro__ if k is not Connector),
        )
        for name, cls in classes.items()
    ]
