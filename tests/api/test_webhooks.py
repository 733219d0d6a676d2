"""Webhooks: verified by the connector, debounced into one incremental sync per burst."""

from __future__ import annotations

import base64
import json
import time

from cryptography.fernet import Fernet
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import connectors.hubspot as hubspot_plugin
import connectors.pipedrive as pipedrive_plugin
from connectors.hubspot.webhooks import signature_v3
from core.models import Connection, Organization, Workspace
from core.secrets import Vault
from tests.support.api import api_client

KEY = Fernet.generate_key().decode()
SECRET = "hubspot-app-secret"
EVENTS = json.dumps(
    [{"subscriptionType": "deal.propertyChange", "objectId": 1, "occurredAt": 1}]
).encode()


async def _connections(sessionmaker: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
    vault = Vault([KEY])
    async with sessionmaker() as session:
        org = Organization(name="Acme")
        session.add(org)
        await session.flush()
        ws = Workspace(organization_id=org.id, name="W")
        session.add(ws)
        await session.flush()
        hub = Connection(
            workspace_id=ws.id,
            connector="hubspot",
            credentials_encrypted=vault.encrypt({"access_token": "t", "webhook_secret": SECRET}),
        )
        pipe = Connection(
            workspace_id=ws.id,
            connector="pipedrive",
            credentials_encrypted=vault.encrypt(
                {"api_token": "t", "webhook_user": "u", "webhook_password": "p"}
            ),
        )
        session.add_all([hub, pipe])
        await session.commit()
        return hub.id, pipe.id


def _signed(url: str, body: bytes, *, age_ms: int = 0, secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time() * 1000) - age_ms)
    return {
        "X-HubSpot-Signature-v3": signature_v3(secret, "POST", url, body, stamp),
        "X-HubSpot-Request-Timestamp": stamp,
        "Content-Type": "application/json",
    }


async def test_hubspot_deliveries_are_verified_and_debounced(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    hub_id, _ = await _connections(sessionmaker)
    async with api_client(engine, plugins=[hubspot_plugin], secret_keys=KEY) as client:
        url = f"http://test/webhooks/hubspot/{hub_id}"
        first = await client.http.post(url, content=EVENTS, headers=_signed(url, EVENTS))
        burst = await client.http.post(url, content=EVENTS, headers=_signed(url, EVENTS))
        forged = await client.http.post(
            url, content=EVENTS, headers=_signed(url, EVENTS, secret="wrong")
        )
        replay = await client.http.post(
            url, content=EVENTS, headers=_signed(url, EVENTS, age_ms=6 * 60_000)
        )
        other = await client.http.post(
            "http://test/webhooks/hubspot/conn_nope", content=EVENTS, headers=_signed(url, EVENTS)
        )
        syncs = client.app.state.crmkpi.syncs
        if syncs.uses_queue:  # PostgreSQL with workers: one waiting job in their queue
            async with engine.connect() as conn:
                waiting = (
                    (
                        await conn.execute(
                            text(
                                "SELECT args->>'connection_id' FROM procrastinate_jobs "
                                "WHERE status = 'todo' AND args->>'connection_id' = :id"
                            ),
                            {"id": hub_id},
                        )
                    )
                    .scalars()
                    .all()
                )
        else:  # the embedded default: one debounce timer in this process
            waiting = list(syncs.pending)
    assert (first.status_code, first.json()) == (202, {"queued": True})
    assert (burst.status_code, burst.json()) == (202, {"queued": False})  # joins the first
    assert forged.status_code == 401 and "signature" in forged.json()["error"]
    assert replay.status_code == 401 and "older than 5 minutes" in replay.json()["error"]
    assert other.status_code == 404
    assert waiting == [hub_id]


async def test_pipedrive_deliveries_need_the_webhook_credentials(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    _, pipe_id = await _connections(sessionmaker)
    body = json.dumps(
        {"meta": {"entity": "deal", "action": "change", "entity_id": "1"}, "data": {"id": 1}}
    ).encode()
    good = "Basic " + base64.b64encode(b"u:p").decode()
    bad = "Basic " + base64.b64encode(b"u:nope").decode()
    async with api_client(engine, plugins=[pipedrive_plugin], secret_keys=KEY) as client:
        url = f"/webhooks/pipedrive/{pipe_id}"
        ok = await client.http.post(url, content=body, headers={"Authorization": good})
        refused = await client.http.post(url, content=body, headers={"Authorization": bad})
        wrong_kind = await client.http.post(f"/webhooks/hubspot/{pipe_id}", content=body)
    assert ok.status_code == 202 and ok.json() == {"queued": True}
    assert refused.status_code == 401
    assert wrong_kind.status_code == 404
