"""What the Salesforce streams of one run share: the API paths, describes, the org's sales
processes and currencies. One :class:`SalesforceRun` per run (``Connector.new_state``),
read through :func:`run_state`; it replaces the string-keyed ``ctx.shared`` scratch space.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any

from connectors.salesforce import settings
from connectors.salesforce.client import bulk_threshold
from connectors.salesforce.paths import ApiPaths
from core.sync.connector import StreamContext

#: Options a connection may set; old connections carried them as credentials.
OPTION_KEYS = ("api_version", "bulk_threshold")


@dataclass(slots=True)
class SalesforceRun:
    """Per-run state. ``options`` are the connection's; ``legacy`` the same keys found in
    its credentials (read by ``authenticate``), used when the options do not set them."""

    options: Mapping[str, str] = field(default_factory=dict)
    legacy: dict[str, str] = field(default_factory=dict)
    #: sObject name -> its describe, read once per run.
    describes: dict[str, Any] = field(default_factory=dict)
    #: The org's sales processes (connectors.salesforce.metadata.SalesProcesses), once read.
    processes: Any = None
    #: The org's currency when opportunities carry none (single-currency orgs): read once.
    default_currency: str | None = None
    default_currency_read: bool = False
    #: The org's default time zone (``Organization.TimeZoneSidKey``), once read.
    timezone: tzinfo | None = None
    #: The corporate currency (``CurrencyType.IsCorporate``), once read.
    corporate_currency: str | None = None
    corporate_currency_read: bool = False

    def option(self, name: str) -> str | None:
        value = self.options.get(name)
        if value is None or value.strip() == "":
            value = self.legacy.get(name)
        return None if value is None or value.strip() == "" else value

    def date_fields(self) -> dict[str, tuple[str, ...]]:
        """Attribute (mql_at, sql_at, customer_at) -> the custom fields it is read from, the
        connection's options over the defaults (settings.QUALIFIED_DATE_FIELDS)."""
        fields: dict[str, tuple[str, ...]] = {}
        for attribute, (option, default) in settings.QUALIFIED_DATE_FIELDS.items():
            value = self.option(option)
            names = tuple(n.strip() for n in value.split(",") if n.strip()) if value else ()
            fields[attribute] = names or default
        return fields

    @property
    def zone(self) -> tzinfo:
        """The org's time zone once read (``metadata.org_timezone``), else UTC."""
        return self.timezone or UTC

    @property
    def api(self) -> ApiPaths:
        return ApiPaths(
            version=self.option("api_version") or settings.API_VERSION,
            bulk_threshold=bulk_threshold(self.option("bulk_threshold")),
        )


def run_state(ctx: StreamContext) -> SalesforceRun:
    """The run's Salesforce state (made on first use where no connector made one: tests)."""
    if not isinstance(ctx.state, SalesforceRun):
        ctx.state = SalesforceRun(options=dict(ctx.options))
    return ctx.state
