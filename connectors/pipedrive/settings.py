"""Pipedrive API facts: endpoint paths, page sizes, timestamp formats, default field names.

Paths are relative to the connection's base URL, which is either a company domain
(``https://acme.pipedrive.com``) or the generic host (``https://api.pipedrive.com``); both
serve ``/api/v1/...`` and ``/api/v2/...``. API v2 is used wherever it has a list endpoint
(cursor pagination, ``updated_since``); v1 only where v2 has none (users, teams, leads,
field metadata, deal flow).
"""

from __future__ import annotations

from typing import Final

DEFAULT_BASE_URL: Final = "https://api.pipedrive.com"
OAUTH_TOKEN_URL: Final = "https://oauth.pipedrive.com/oauth/token"  # noqa: S105 (a URL)

#: Both v1 offset pages and v2 cursor pages allow up to 500 items.
PAGE_SIZE: Final = 500

#: Daily token budget: the share a sync leaves to the company's other apps, and what one
#: request is counted at between two readings (a v1 list read; v2 lists cost half).
DAILY_RESERVE: Final = 0.1
LIST_TOKEN_COST: Final = 20.0

# --- API v2 (cursor pagination: additional_data.next_cursor) ---
V2_DEALS: Final = "/api/v2/deals"
V2_ARCHIVED_DEALS: Final = "/api/v2/deals/archived"
V2_PERSONS: Final = "/api/v2/persons"
V2_ORGANIZATIONS: Final = "/api/v2/organizations"
V2_ACTIVITIES: Final = "/api/v2/activities"
V2_PIPELINES: Final = "/api/v2/pipelines"
V2_STAGES: Final = "/api/v2/stages"

# --- API v1 (offset pagination: additional_data.pagination) ---
V1_USERS: Final = "/api/v1/users"
V1_TEAMS: Final = "/api/v1/legacyTeams"
V1_LEADS: Final = "/api/v1/leads"
V1_ARCHIVED_LEADS: Final = "/api/v1/leads/archived"
V1_LEAD_LABELS: Final = "/api/v1/leadLabels"
V1_DEAL_FIELDS: Final = "/api/v1/dealFields"
V1_PERSON_FIELDS: Final = "/api/v1/personFields"
V1_ORGANIZATION_FIELDS: Final = "/api/v1/organizationFields"
V1_ACTIVITY_TYPES: Final = "/api/v1/activityTypes"
V1_DEAL_FLOW: Final = "/api/v1/deals/{id}/flow"
V1_NOTES: Final = "/api/v1/notes"
#: Every currency of the company (no paging, no FX rates: Pipedrive exposes none).
V1_CURRENCIES: Final = "/api/v1/currencies"
#: ``include_fields`` of ``/api/v2/deals``: ``source_lead_id`` (the lead a deal was
#: converted from) is "only included when requested via include_fields" (v2 Deal model).
DEAL_INCLUDE_FIELDS: Final = "source_lead_id"

#: Field metadata endpoints per object kind (run state catalog key -> path).
FIELD_ENDPOINTS: Final[dict[str, str]] = {
    "deal": V1_DEAL_FIELDS,
    "person": V1_PERSON_FIELDS,
    "organization": V1_ORGANIZATION_FIELDS,
}

#: Activity type keys (``activity.type``) -> normalized activity type. Pipedrive lets
#: companies add their own types; unknown keys map through the activity type's icon, then
#: fall back to TASK.
ACTIVITY_TYPES: Final[dict[str, str]] = {
    "call": "CALL",
    "meeting": "MEETING",
    "lunch": "MEETING",
    "email": "EMAIL",
    "task": "TASK",
    "deadline": "TASK",
    "note": "NOTE",
}

#: Custom field *names* read into deal / account attributes when the connection has no
#: mapping of its own (``ctx.mappings["custom_fields"]``). Matching is case-insensitive.
DEFAULT_CUSTOM_FIELDS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "deal": {
        "deal_type": ("Deal type", "Type"),
        "source": ("Source", "Lead source", "Deal source"),
        "cost": ("Cost", "Deal cost"),
        "recurring_amount": ("MRR", "Monthly recurring revenue", "Monthly recurring amount"),
        "contract_start": ("Contract start", "Contract start date"),
        "contract_end": ("Contract end", "Contract end date"),
    },
    "organization": {
        "industry": ("Industry",),
        "source": ("Source", "Lead source"),
    },
    "person": {
        "source": ("Source", "Lead source"),
        "lifecycle_stage": ("Lifecycle stage", "Lifecycle"),
        "lead_at": ("Lead date",),
        "mql_at": ("MQL date", "Marketing qualified date"),
        "sql_at": ("SQL date", "Sales qualified date"),
        "customer_at": ("Customer date", "Customer since"),
    },
}

#: Deal type labels as users name them -> normalized DealType values.
DEAL_TYPE_LABELS: Final[dict[str, str]] = {
    "new business": "NEW_BUSINESS",
    "new": "NEW_BUSINESS",
    "upsell": "UPSELL",
    "cross-sell": "CROSS_SELL",
    "cross sell": "CROSS_SELL",
    "renewal": "RENEWAL",
    "upgrade": "UPGRADE",
}
