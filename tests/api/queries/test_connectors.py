"""``connectors``: what `crmkpi connectors list` shows, for a frontend's add-connection form."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import connectors.hubspot
import connectors.pipedrive
import connectors.salesforce
from api.commands.connectors import describe
from core.organizations import create_organization
from core.tenancy import create_api_key
from tests.support.api import api_client

QUERY = """{ connectors { name title defaultBaseUrl streams simulator
  credentialFields { name secret required } optionFields { name description default } } }"""


def _as_cli(connector: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": connector["name"],
        "title": connector["title"],
        "default_base_url": connector["defaultBaseUrl"],
        "credentials": connector["credentialFields"],
        "options": connector["optionFields"],
        "streams": connector["streams"],
        "simulator": connector["simulator"],
    }


async def test_the_installed_connectors_as_the_cli_lists_them(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        org = await create_organization(session, "Agency")
        _, key = await create_api_key(session, organization_id=org.id, role="viewer")
        await session.commit()
    plugins = [connectors.hubspot, connectors.pipedrive, connectors.salesforce]
    async with api_client(engine, plugins=plugins) as api:
        answer = await api.graphql(QUERY, key=key)
        anonymous = await api.graphql(QUERY)
    assert "errors" not in answer, answer
    listed = answer["data"]["connectors"]
    assert [c["name"] for c in listed] == ["hubspot", "pipedrive", "salesforce"]
    hubspot = listed[0]
    assert {"name": "access_token", "secret": True, "required": False} in hubspot[
        "credentialFields"
    ]
    assert "deals" in hubspot["streams"] and hubspot["simulator"] is True
    cli = {c["name"]: c for c in describe()}
    assert [_as_cli(c) for c in listed] == [cli[c["name"]] for c in listed]
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
