"""HubSpot API facts: endpoint paths, property lists, limits (see shared/CRM-APIS.md §1).

Everything a newcomer would look up in HubSpot's developer documentation lives here, so the
streams and the mapping read as plain logic. The path prefix is a constant because HubSpot
also publishes date-versioned paths (``/crm/objects/2026-03/...``) next to ``/crm/v3``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_URL = "https://api.hubapi.com"
OBJECTS_PATH = "/crm/v3/objects"
OWNERS_PATH = "/crm/v3/owners"
DEAL_PIPELINES_PATH = "/crm/v3/pipelines/deals"
ASSOCIATIONS_V4_PATH = "/crm/v4/associations"
EXCHANGE_RATES_PATH = "/settings/v3/currencies/exchange-rates"
COMPANY_CURRENCY_PATH = "/settings/v3/currencies/company-currency"
PROPERTIES_PATH = "/crm/v3/properties"
TOKEN_PATH = "/oauth/v1/token"  # noqa: S105 (a path, not a secret)

#: List endpoints: at most 100 records a page.
LIST_PAGE_SIZE = 100
#: Search endpoints: at most 200 records a page, and never more than 10,000 per query.
SEARCH_PAGE_SIZE = 200
SEARCH_RESULT_CAP = 10_000
#: Reads asking for ``propertiesWithHistory`` (lists and batch reads) return at most 50
#: records (HubSpot: the history "reduces the maximum number of objects" of a read; larger
#: pages are refused with a 400).
HISTORY_PAGE_SIZE = 50
#: v4 association batch reads take up to 1,000 ids; a search page never has more than 200.
ASSOCIATION_BATCH_SIZE = 1_000

#: Private apps (Free/Starter): 100 requests per 10 s per account; Professional and
#: Enterprise allow 190. The default is the lower one, so no portal is overrun.
RATE_LIMIT_REQUESTS = 100
RATE_LIMIT_SECONDS = 10.0
#: Search endpoints have their own, lower limit: 5 requests a second per account.
SEARCH_REQUESTS_PER_SECOND = 5
#: Share of the daily limit (private apps) a sync leaves to the portal's other apps.
DAILY_RESERVE = 0.1
RATE_LIMIT_HEADERS = (
    "X-HubSpot-RateLimit-Daily",
    "X-HubSpot-RateLimit-Daily-Remaining",
    "X-HubSpot-RateLimit-Interval-Milliseconds",
    "X-HubSpot-RateLimit-Max",
    "X-HubSpot-RateLimit-Remaining",
    "X-HubSpot-RateLimit-Secondly",
    "X-HubSpot-RateLimit-Secondly-Remaining",
)

#: Ids merged into a record (``;``-separated): the merged-away records no longer exist.
MERGED_PROPERTY = "hs_merged_object_ids"
#: Calculated per-stage deal properties; the stage id is appended.
DATE_ENTERED_PREFIXES = ("hs_date_entered_", "hs_v2_date_entered_")
DATE_EXITED_PREFIXES = ("hs_date_exited_", "hs_v2_date_exited_")
#: Stage kinds of the open stages of HubSpot's default deal pipeline (by their fixed ids).
DEFAULT_STAGE_KINDS = {
    "appointmentscheduled": "LEAD_IN",
    "qualifiedtobuy": "QUALIFIED",
    "presentationscheduled": "PROPOSAL",
    "decisionmakerboughtin": "NEGOTIATION",
    "contractsent": "NEGOTIATION",
}
#: Contact lifecycle stage entry dates: ``hs_lifecyclestage_<stage>_date``.
LIFECYCLE_DATE = "hs_lifecyclestage_{}_date"
LIFECYCLE_LEAD_STAGES = ("subscriber", "lead")
LIFECYCLE_MQL = "marketingqualifiedlead"
LIFECYCLE_SQL = "salesqualifiedlead"
LIFECYCLE_CUSTOMER = "customer"
LIFECYCLE_STAGES = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)

#: The default pipeline stages of the Leads object that mean "qualified into a deal".
LEAD_QUALIFIED_STAGE = "qualified-stage-id"

#: Default call dispositions (``hs_call_disposition`` holds these GUIDs).
CALL_DISPOSITIONS = {
    "f240bbac-87c9-4f6e-bf70-924b57d47db7": "CONNECTED",
    "a4c4c377-d246-4b32-a13b-75a56a4cd0ff": "LEFT_LIVE_MESSAGE",
    "b2cf5968-551e-4856-9783-52b3da59a7d0": "LEFT_VOICEMAIL",
    "73a0d17f-1163-4015-bdd5-ec830791da20": "NO_ANSWER",
    "9d9162e7-6cf3-4944-bf63-4dff82258764": "BUSY",
    "17b47fee-58de-441e-a44c-c6300d46f273": "WRONG_NUMBER",
}


#: Object type -> its singular, as in association type names (``deal_to_company``).
SINGULAR = {
    "companies": "company",
    "contacts": "contact",
    "deals": "deal",
    "leads": "lead",
    "calls": "call",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
    "tasks": "task",
}


@dataclass(frozen=True, slots=True)
class ObjectType:
    """One CRM object type: its path name, properties, associations and modified property."""

    name: str
    properties: tuple[str, ...]
    associations: tuple[str, ...] = ()
    modified_property: str = "hs_lastmodifieddate"
    created_property: str = "hs_createdate"


COMPANIES = ObjectType(
    "companies",
    (
        "name",
        "domain",
        "country",
        "state",
        "industry",
        "hubspot_owner_id",
        "hs_analytics_source",
        "createdate",
        "hs_lastmodifieddate",
        MERGED_PROPERTY,
    ),
    created_property="createdate",
)
CONTACTS = ObjectType(
    "contacts",
    (
        "firstname",
        "lastname",
        "email",
        "associatedcompanyid",
        "hubspot_owner_id",
        "lifecyclestage",
        "hs_lead_status",
        "hs_analytics_source",
        "createdate",
        "lastmodifieddate",
        MERGED_PROPERTY,
        *(LIFECYCLE_DATE.format(stage) for stage in LIFECYCLE_STAGES),
    ),
    associations=("companies",),
    modified_property="lastmodifieddate",
    created_property="createdate",
)
LEADS = ObjectType(
    "leads",
    (
        "hs_lead_name",
        "hs_pipeline",
        "hs_pipeline_stage",
        "hs_lead_source",
        "hubspot_owner_id",
        "hs_createdate",
        "hs_lastmodifieddate",
        f"hs_v2_date_entered_{LEAD_QUALIFIED_STAGE}",
    ),
    associations=("contacts", "companies", "deals"),
)
DEALS = ObjectType(
    "deals",
    (
        "dealname",
        "amount",
        "deal_currency_code",
        "pipeline",
        "dealstage",
        "closedate",
        "createdate",
        "hs_lastmodifieddate",
        "hs_is_closed",
        "hs_is_closed_won",
        "closed_lost_reason",
        "dealtype",
        "hs_analytics_source",
        "hubspot_owner_id",
        "hs_deal_stage_probability",
        "hs_mrr",
        MERGED_PROPERTY,
    ),
    associations=("companies", "contacts", "leads"),
    created_property="createdate",
)
_ENGAGEMENT_COMMON = ("hs_timestamp", "hubspot_owner_id", "hs_createdate", "hs_lastmodifieddate")
_ENGAGEMENT_ASSOCIATIONS = ("deals", "contacts", "companies", "leads")
CALLS = ObjectType(
    "calls",
    (
        *_ENGAGEMENT_COMMON,
        "hs_call_title",
        "hs_call_direction",
        "hs_call_status",
        "hs_call_disposition",
        "hs_call_duration",
    ),
    _ENGAGEMENT_ASSOCIATIONS,
)
EMAILS = ObjectType(
    "emails",
    (*_ENGAGEMENT_COMMON, "hs_email_subject", "hs_email_direction", "hs_email_status"),
    _ENGAGEMENT_ASSOCIATIONS,
)
MEETINGS = ObjectType(
    "meetings",
    (
        *_ENGAGEMENT_COMMON,
        "hs_meeting_title",
        "hs_meeting_start_time",
        "hs_meeting_end_time",
        "hs_meeting_outcome",
    ),
    _ENGAGEMENT_ASSOCIATIONS,
)
NOTES = ObjectType("notes", (*_ENGAGEMENT_COMMON, "hs_note_body"), _ENGAGEMENT_ASSOCIATIONS)
TASKS = ObjectType(
    "tasks",
    (
        *_ENGAGEMENT_COMMON,
        "hs_task_subject",
        "hs_task_status",
        "hs_task_type",
        "hs_task_priority",
        "hs_task_completion_date",
    ),
    _ENGAGEMENT_ASSOCIATIONS,
)
ENGAGEMENTS = (CALLS, EMAILS, MEETINGS, NOTES, TASKS)
#: Engagement object name -> normalized activity type.
ACTIVITY_TYPES = {
    "calls": "CALL",
    "emails": "EMAIL",
    "meetings": "MEETING",
    "notes": "NOTE",
    "tasks": "TASK",
}
