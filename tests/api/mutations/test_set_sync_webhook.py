"""setSyncWebhook through HTTP: the secret is shown once and stored encrypted, private URLs
follow the SSRF rule, viewers cannot set it (both databases)."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import SyncWebhook
from core.secrets import Vault
from tests.support.api import ApiClient, api_client
from tests.support.records import Tenant, create_tenant

SET = """
mutation($input: SetSyncWebhookInput!) {
  setSyncWebhook(input: $input) {
    __typename
    ... on SetSyncWebhookSuccess { workspaceId url secret }
    ... on MutationError { message code }
  }
}
"""


async def _set(client: ApiClient, key: str, ws: str, url: str | None) -> dict[str, Any]:
    body = await client.graphql(SET, {"input": {"workspaceId": ws, "url": url}}, key=key)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["setSyncWebhook"]
    return result


async def test_set_replace_and_remove_a_webhook(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        tenant: Tenant = await create_tenant(session, "acme", workspaces=1, deals=0)
    ws, editor = tenant.workspace_ids[0], tenant.keys["editor"]
    key = Fernet.generate_key().decode()
    settings: dict[str, Any] = {"secret_keys": key, "connection_allowed_hosts": ["10.0.0.0/8"]}
    async with api_client(engine, **settings) as client:
        first = await _set(client, editor, ws, "https://93.184.216.34/hooks/crmkpi")
        async with sessionmaker() as session:
            stored = await session.get(SyncWebhook, ws)
            assert stored is not None
            stored_secret = Vault([key]).decrypt(stored.secret_encrypted)["secret"]
            assert first["secret"].encode() not in stored.secret_encrypted
        allowed_private = await _set(client, editor, ws, "http://10.1.2.3/hook")
        refused = [
            await _set(client, editor, ws, "http://127.0.0.1:9/hook"),
            await _set(client, editor, ws, "ftp://example.com/x"),
            await _set(client, editor, "ws_unknown", "https://93.184.216.34/"),
        ]
        viewer = await client.graphql(
            SET, {"input": {"workspaceId": ws, "url": None}}, key=tenant.keys["viewer"]
        )
        removed = await _set(client, editor, ws, None)
    async with sessionmaker() as session:
        assert await session.get(SyncWebhook, ws) is None
    assert first["__typename"] == "SetSyncWebhookSuccess"
    assert first["secret"].startswith("whsec_") and stored_secret == first["secret"]
    assert allowed_private["secret"] and allowed_private["secret"] != first["secret"]
    assert [r["code"] for r in refused] == ["ADDRESS_NOT_ALLOWED", "INVALID", "NOT_FOUND"]
    assert viewer["data"] is None and viewer["errors"]
    assert removed == {"__typename": "SetSyncWebhookSuccess", "workspaceId": ws, "url": None,
                       "secret": None}  # fmt: skip
