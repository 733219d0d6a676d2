"""The Salesforce connector: OAuth refresh-token auth, the org's limits and capabilities,
its options and its streams."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from connectors.salesforce import capabilities, client, settings
from connectors.salesforce.currencies import CurrenciesStream, DatedRatesStream
from connectors.salesforce.objects import (
    AccountsStream,
    ContactsStream,
    EventsStream,
    NotesStream,
    TasksStream,
    TeamsStream,
    UsersStream,
)
from connectors.salesforce.state import OPTION_KEYS, SalesforceRun
from connectors.salesforce.streams import DealsStream, LeadsStream, PipelinesStream, StagesStream
from core.simulation.options import SimulatorOptions
from core.sync.capabilities import Capability
from core.sync.connector import (
    DAILY_BUDGET,
    Auth,
    Connector,
    CredentialField,
    DailyBudget,
    HttpClient,
    OptionField,
    QuotaReading,
    RateLimitPolicy,
    Stream,
    StreamContext,
)

_DATE_WHAT = {"mql_at": "an MQL", "sql_at": "an SQL", "customer_at": "a customer"}


class SalesforceConnector(Connector):
    """Salesforce REST API (SOQL). The connection's base URL is the *login* URL
    (``https://login.salesforce.com``, ``https://test.salesforce.com`` or a My Domain); data
    calls go to the ``instance_url`` the token endpoint returns."""

    name = "salesforce"
    title = "Salesforce"
    default_base_url = settings.DEFAULT_LOGIN_URL
    credential_fields = (
        CredentialField("client_id", "Consumer key of the connected app", secret=False),
        CredentialField("client_secret", "Consumer secret of the connected app"),
        CredentialField("refresh_token", "OAuth refresh token (scopes: api, refresh_token)"),
    )
    #: No defaults declared: an unset option falls back to the legacy credential of the
    #: same name (connections made before options existed), then to the settings default.
    option_fields = (
        OptionField("api_version", f"REST API version, default {settings.API_VERSION}"),
        OptionField(
            "bulk_threshold",
            f"Rows above which a first load uses Bulk API 2.0, default {settings.BULK_THRESHOLD}",
        ),
        *(
            OptionField(
                option,
                f"Contact/Lead custom date fields holding when a person became "
                f"{_DATE_WHAT[attribute]}, comma-separated (first set wins), default "
                f"{', '.join(default)}",
            )
            for attribute, (option, default) in settings.QUALIFIED_DATE_FIELDS.items()
        ),
    )
    #: Salesforce has no per-second quota, only a rolling daily allocation (read from
    #: ``Sforce-Limit-Info``) and 25 concurrent long requests: keep a modest steady rate.
    rate_limit = RateLimitPolicy(
        requests=25,
        per_seconds=1.0,
        daily=DailyBudget(
            reserve=1 - settings.DAILY_LIMIT_STOP_AT,
            slow_below=settings.DAILY_LIMIT_STOP_AT - settings.DAILY_LIMIT_SLOWDOWN_AT,
        ),
    )

    def __init__(self) -> None:
        #: The run state made by ``new_state``; ``authenticate`` gives it the legacy keys.
        self._run: SalesforceRun | None = None

    def streams(self) -> Sequence[Stream]:
        return [
            TeamsStream(),
            UsersStream(),
            PipelinesStream(),
            StagesStream(),
            AccountsStream(),
            ContactsStream(),
            LeadsStream(),
            DealsStream(),
            TasksStream(),
            EventsStream(),
            NotesStream(),
            CurrenciesStream(),
            DatedRatesStream(),
        ]

    def new_state(self, options: Mapping[str, str]) -> SalesforceRun:
        self._run = SalesforceRun(options=dict(options))
        return self._run

    async def discover(self, http: HttpClient, ctx: StreamContext) -> Sequence[Capability]:
        return await capabilities.discover(http, ctx)

    def unavailable_reason(self, response: httpx.Response) -> str | None:
        return capabilities.unavailable_reason(response)

    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        """Reuse the stored access token unless ``refresh``; else refresh it.

        A refresh returns the new token, the instance URL and any rotated refresh token as
        ``Auth.credentials`` for the engine to store.
        """
        if self._run is not None:
            self._run.legacy = {k: credentials[k] for k in OPTION_KEYS if credentials.get(k)}
        token, instance = credentials.get("access_token"), credentials.get("instance_url")
        new_credentials = None
        if refresh or not token or not instance:
            fresh = await client.refresh_access_token(
                http, base_url or settings.DEFAULT_LOGIN_URL, credentials
            )
            token, instance = fresh.access_token, fresh.instance_url
            new_credentials = {**credentials, "access_token": token, "instance_url": instance}
            if fresh.refresh_token:
                new_credentials["refresh_token"] = fresh.refresh_token
        return Auth(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            base_url=instance,
            credentials=new_credentials,
        )

    def account_key(self, credentials: Mapping[str, str], base_url: str) -> str:
        """The org's allocation is shared by every app: key by client and refresh token."""
        return f"{self.name}:{base_url}:{credentials.get('client_id', '')}"

    def is_auth_error(self, response: httpx.Response) -> bool:
        """401 ``INVALID_SESSION_ID``; raises :class:`client.DailyLimitReached` at the limit.

        The engine's HTTP policy calls this on every answer before decoding it, the one
        place a connector sees raw responses, so Salesforce's own limit signals (403
        ``REQUEST_LIMIT_EXCEEDED``, ``Sforce-Limit-Info``) are checked here: the stream stops
        with a clear message and, its cursor being committed per page, the next run resumes.
        """
        client.check_limits(response)
        return client.is_session_expired(response)

    def is_quota_exhausted(self, response: httpx.Response) -> bool:
        """403 ``REQUEST_LIMIT_EXCEEDED``: end the run cleanly, resume from the cursor."""
        return client.is_daily_limit_exceeded(response)

    def read_quota(self, response: httpx.Response) -> Sequence[QuotaReading]:
        """The org's daily allocation left, from ``Sforce-Limit-Info`` (rolling 24 h)."""
        usage = client.api_usage(response.headers)
        if usage is None:
            return ()
        return (QuotaReading(DAILY_BUDGET, usage.limit - usage.used, limit=usage.limit),)

    def api_usage(self, response: httpx.Response) -> client.ApiUsage | None:
        """The daily allocation used so far, from ``Sforce-Limit-Info``."""
        return client.api_usage(response.headers)

    @classmethod
    def simulator(cls, options: SimulatorOptions) -> Any:
        """The ASGI simulator of a Salesforce org rendering the shared seeded business
        (with deletions in its recycle bin), as the account variant of ``options``."""
        from connectors.salesforce.simulator import create_simulator

        return create_simulator(
            seed=options.seed,
            deals=options.deals,
            faults=options.faults,
            deletions=True,
            account=str(options.account.value),
            history_batch=options.history_batch,
            rate_limit=options.rate_limit,
        ).app

    @classmethod
    def simulator_credentials(cls) -> dict[str, str]:
        from connectors.salesforce.simulator import CREDENTIALS

        return dict(CREDENTIALS)
