"""The sync engine, and the connector SDK a connector package imports from here.

Everything a connector needs is exported below; the engine's own modules (runner,
scheduler, upsert, locks...) are imported by their full names.
"""

from __future__ import annotations

from core.simulation.options import Account, SimulatorOptions
from core.sync.capabilities import (
    Capabilities,
    Capability,
    CapabilityStatus,
    CapabilityUnavailable,
)
from core.sync.connector import (
    DAILY_BUDGET,
    DEFAULT_BUDGET,
    ASGIApp,
    Auth,
    Budget,
    Connector,
    CredentialField,
    Cursor,
    DailyBudget,
    HttpClient,
    OptionField,
    Page,
    QuotaReading,
    RateLimitPolicy,
    Request,
    Stream,
    StreamContext,
    TextBody,
    WebhookDelivery,
    WebhookRejected,
)
from core.sync.errors import (
    AuthFailed,
    MappingError,
    QuotaExhausted,
    RequestFailed,
    SyncError,
)
from core.sync.mappings import FieldMappings
from core.sync.pagination import (
    BasePaginator,
    CursorPaginator,
    NextUrlPaginator,
    OffsetPaginator,
)
from core.sync.reading import ReadResult, read_stream
from core.sync.runs import StreamStatus

__all__ = [
    "DAILY_BUDGET",
    "DEFAULT_BUDGET",
    "ASGIApp",
    "Account",
    "Auth",
    "AuthFailed",
    "BasePaginator",
    "Budget",
    "Capabilities",
    "Capability",
    "CapabilityStatus",
    "CapabilityUnavailable",
    "Connector",
    "CredentialField",
    "Cursor",
    "CursorPaginator",
    "DailyBudget",
    "FieldMappings",
    "HttpClient",
    "MappingError",
    "NextUrlPaginator",
    "OffsetPaginator",
    "OptionField",
    "Page",
    "QuotaExhausted",
    "QuotaReading",
    "RateLimitPolicy",
    "ReadResult",
    "Request",
    "RequestFailed",
    "SimulatorOptions",
    "Stream",
    "StreamContext",
    "StreamStatus",
    "SyncError",
    "TextBody",
    "WebhookDelivery",
    "WebhookRejected",
    "read_stream",
]
