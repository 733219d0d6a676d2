"""The Pipedrive connector: credentials, rate limit policy and streams."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from connectors.pipedrive import _capabilities, client, quota, settings
from connectors.pipedrive._state import RunState
from connectors.pipedrive.streams import all_streams
from connectors.pipedrive.webhooks import parse_event, verify_basic_auth, wants_sync
from core.simulation.options import SimulatorOptions
from core.sync.capabilities import Capability
from core.sync.connector import (
    Auth,
    Connector,
    CredentialField,
    DailyBudget,
    HttpClient,
    QuotaReading,
    RateLimitPolicy,
    Stream,
    StreamContext,
    WebhookDelivery,
    WebhookRejected,
)


class PipedriveConnector(Connector):
    """Pipedrive through API v2 (v1 where v2 has no list), by API token or OAuth."""

    name: ClassVar[str] = "pipedrive"
    title: ClassVar[str] = "Pipedrive"
    default_base_url: ClassVar[str] = settings.DEFAULT_BASE_URL
    credential_fields: ClassVar[tuple[CredentialField, ...]] = (
        CredentialField(
            "api_token",
            "Personal API token (Settings > Personal preferences > API)",
            required=False,
        ),
        CredentialField("access_token", "OAuth access token", required=False),
        CredentialField("refresh_token", "OAuth refresh token", required=False),
        CredentialField("client_id", "OAuth app client id", secret=False, required=False),
        CredentialField("client_secret", "OAuth app client secret", required=False),
        CredentialField(
            "token_url", "OAuth token URL (default: Pipedrive's)", secret=False, required=False
        ),
        CredentialField(
            "webhook_user", "HTTP Basic user Pipedrive webhooks send", secret=False, required=False
        ),
        CredentialField(
            "webhook_password", "HTTP Basic password Pipedrive webhooks send", required=False
        ),
    )
    #: Burst limit per token: a rolling 2-second window (80 requests for an API token on
    #: the Professional plan); the daily token budget is reported by the same headers.
    rate_limit: ClassVar[RateLimitPolicy] = RateLimitPolicy(
        requests=80,
        per_seconds=2.0,
        remaining_header="x-ratelimit-remaining",
        reset_header="x-ratelimit-reset",
        daily=DailyBudget(reserve=settings.DAILY_RESERVE, cost=settings.LIST_TOKEN_COST),
        paced=True,
    )

    @classmethod
    def webhook_wants_sync(cls, delivery: WebhookDelivery, credentials: Mapping[str, str]) -> bool:
        """HTTP Basic credentials set on the webhook (Pipedrive signs nothing)."""
        headers = {k.lower(): v for k, v in delivery.headers.items()}
        if not verify_basic_auth(
            headers.get("authorization"),
            credentials.get("webhook_user", ""),
            credentials.get("webhook_password", ""),
        ):
            raise WebhookRejected("webhook credentials do not match this connection's")
        try:
            payload = json.loads(delivery.body)
        except ValueError:
            raise WebhookRejected("body is not JSON") from None
        return isinstance(payload, dict) and wants_sync(parse_event(payload))

    def streams(self) -> Sequence[Stream]:
        return all_streams()

    async def discover(self, http: HttpClient, ctx: StreamContext) -> Sequence[Capability]:
        """Teams (admin token, plan), archived deals, notes, activity types: one small
        probe each; lead conversions: whether deals carry ``source_lead_id`` when asked."""
        return await _capabilities.discover(http)

    def unavailable_reason(self, response: httpx.Response) -> str | None:
        """Pipedrive's 402 (plan), 403 (permission), 404/410 (not on this account)."""
        return _capabilities.unavailable_reason(response)

    def new_state(self, options: Mapping[str, str]) -> RunState:
        return RunState()

    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        return await client.authenticate(http, credentials, base_url, refresh=refresh)

    @classmethod
    def simulator(cls, options: SimulatorOptions) -> Any:
        """The Pipedrive simulator (ASGI): the shared business of ``options.seed`` and
        ``options.deals``, the account variant, faults and (``rate_limit``) Pipedrive's
        burst limit."""
        from connectors.pipedrive.simulator import create_app

        return create_app(options)

    @classmethod
    def simulator_credentials(cls) -> dict[str, str]:
        """What ``crmkpi connection add --credential`` needs to read the simulator."""
        from connectors.pipedrive.simulator import API_TOKEN

        return {"api_token": API_TOKEN}

    def read_quota(self, response: httpx.Response) -> Sequence[QuotaReading]:
        return quota.read_quota(response)

    def account_key(self, credentials: Mapping[str, str], base_url: str) -> str:
        """Pipedrive limits per company: the company domain (OAuth ``api_domain``) or the
        base URL identify it."""
        return f"{self.name}:{credentials.get('api_domain') or base_url}"
