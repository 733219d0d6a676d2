"""The HubSpot connector: credentials, rate limit policy, streams and simulator."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from connectors.hubspot import _capabilities, client, quota, settings
from connectors.hubspot._state import HubSpotState
from connectors.hubspot.streams import all_streams
from connectors.hubspot.webhooks import streams_to_sync, verify_signature_v3
from core.simulation.options import SimulatorOptions
from core.sync import Capability, HttpClient, StreamContext
from core.sync.connector import (
    Auth,
    Budget,
    Connector,
    CredentialField,
    DailyBudget,
    QuotaReading,
    RateLimitPolicy,
    Request,
    Stream,
    WebhookDelivery,
    WebhookRejected,
)


class HubSpotConnector(Connector):
    """HubSpot CRM v3 at a configurable base URL (sandboxes, EU data centre, simulator)."""

    name = "hubspot"
    title = "HubSpot"
    default_base_url = settings.DEFAULT_BASE_URL
    credential_fields = (
        CredentialField(
            "access_token",
            "Private app token, or an OAuth access token",
            required=False,
        ),
        CredentialField("refresh_token", "OAuth refresh token", required=False),
        CredentialField("client_id", "OAuth app client id", secret=False, required=False),
        CredentialField("client_secret", "OAuth app client secret", required=False),
        CredentialField(
            "webhook_secret",
            "Client secret that signs webhook requests (X-HubSpot-Signature-v3)",
            required=False,
        ),
    )
    #: The 10-second window of the account, the search endpoints' own per-second limit
    #: and the private app's daily limit (learnt from ``X-HubSpot-RateLimit-Daily``).
    rate_limit = RateLimitPolicy(
        requests=settings.RATE_LIMIT_REQUESTS,
        per_seconds=settings.RATE_LIMIT_SECONDS,
        remaining_header="X-HubSpot-RateLimit-Remaining",
        budgets=(Budget(quota.SEARCH_BUDGET, settings.SEARCH_REQUESTS_PER_SECOND, 1.0),),
        daily=DailyBudget(reserve=settings.DAILY_RESERVE),
    )

    def streams(self) -> Sequence[Stream]:
        return all_streams()

    @classmethod
    def webhook_wants_sync(cls, delivery: WebhookDelivery, credentials: Mapping[str, str]) -> bool:
        """v3 signature with the app's client secret, at most 5 minutes old."""
        secret = credentials.get("webhook_secret") or credentials.get("client_secret")
        if not secret:
            raise WebhookRejected("this connection has no webhook_secret")
        verify_signature_v3(
            secret,
            method=delivery.method,
            uri=delivery.url,
            body=delivery.body,
            headers=delivery.headers,
        )
        return bool(streams_to_sync(delivery.body))

    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        return await client.authenticate(http, credentials, base_url, refresh=refresh)

    async def discover(self, http: HttpClient, ctx: StreamContext) -> Sequence[Capability]:
        """The Leads object, multi-currency and the properties API (see _capabilities)."""
        return await _capabilities.discover(http)

    def unavailable_reason(self, response: httpx.Response) -> str | None:
        return _capabilities.unavailable_reason(response)

    def new_state(self, options: Mapping[str, str]) -> HubSpotState:
        return HubSpotState()

    def budgets_for(self, request: Request) -> tuple[str, ...]:
        return quota.budgets_for(request)

    def read_quota(self, response: httpx.Response) -> Sequence[QuotaReading]:
        return quota.read_quota(response)

    def account_key(self, credentials: Mapping[str, str], base_url: str) -> str:
        """Limits are per portal and app; the refresh token (or static token) stands for both."""
        secret = credentials.get("refresh_token") or credentials.get("access_token") or ""
        digest = hashlib.sha256(secret.encode()).hexdigest()[:16]
        return f"{self.name}:{base_url}:{digest}"

    @classmethod
    def simulator(cls, options: SimulatorOptions) -> Any:
        """The HubSpot simulator as an ASGI app (see connectors.hubspot.simulator)."""
        from connectors.hubspot.simulator import create_app

        return create_app(
            seed=options.seed,
            deals=options.deals,
            faults=options.faults,
            account=str(options.account),
            rate_limit=options.rate_limit,
        )

    @classmethod
    def simulator_credentials(cls) -> dict[str, str]:
        from connectors.hubspot.simulator import ACCESS_TOKEN

        return {"access_token": ACCESS_TOKEN}
