"""Salesforce facts the connector relies on: URLs, the API version, the fields it asks for.

The field lists are what the mapping wants; at run time each list is intersected with the
object's ``describe`` result, so an org without a field (``CurrencyIsoCode`` when
multi-currency is off) still syncs, and every custom field (``__c``) is added.
"""

from __future__ import annotations

from datetime import timedelta

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
#: Spring '26. Every path is ``/services/data/v{API_VERSION}/...``; a connection may pin another.
API_VERSION = "66.0"
TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 (a URL path, not a secret)

#: Salesforce commits late rows with an earlier SystemModstamp: re-read this much overlap.
LOOKBACK = timedelta(minutes=10)
#: How far back ``getDeleted`` lists deletions (15 days in the current REST guide, 30 in
#: older ones): older incremental windows read deletions with ``queryAll``.
GET_DELETED_RETENTION = timedelta(days=15)
#: Slow down once this share of the daily API allocation is used (``Sforce-Limit-Info``).
DAILY_LIMIT_SLOWDOWN_AT = 0.9
#: Stop before the allocation is used up, leaving room for the org's other integrations.
DAILY_LIMIT_STOP_AT = 0.98

#: Full reads (first loads) of more rows than this use Bulk API 2.0 query jobs; a connection
#: may set another with its ``bulk_threshold`` credential. Below it REST pages are cheaper
#: (no job to create and poll); above it one CSV page carries 50,000 rows instead of 2,000.
BULK_THRESHOLD = 50_000
#: Rows per Bulk API results page (``maxRecords``).
BULK_PAGE_ROWS = 50_000
#: At most this many for objects read with their history (each row then carries several
#: child rows): a page of 50,000 opportunities and their ~250,000 history rows would
#: take the process past its memory budget.
BULK_PAGE_ROWS_WITH_CHILDREN = 10_000
#: First and longest wait between two polls of a bulk job, and how long to wait at most.
BULK_POLL_SECONDS = 1.0
BULK_POLL_MAX_SECONDS = 15.0
BULK_MAX_WAIT_SECONDS = 3600.0

#: Field types a describe can report that REST queries cannot select as scalars.
COMPOUND_TYPES = frozenset({"address", "location"})

#: The default pipeline: all of the org's stages (which are org-wide); orgs with Opportunity
#: record types get one more pipeline per sales process (connectors.salesforce.metadata).
PIPELINE_ID = "Opportunity"
PIPELINE_NAME = "Opportunities"

#: Key prefixes of record ids (the first three characters name the object).
PREFIX_USER = "005"
PREFIX_ACCOUNT = "001"
PREFIX_CONTACT = "003"
PREFIX_LEAD = "00Q"
PREFIX_OPPORTUNITY = "006"

#: Parents of a Note (``ParentId``) that belong to an account (their ``AccountId``): the
#: note's account (connectors.salesforce.parents). A note on an account names it itself.
PARENTS_WITH_ACCOUNT = {PREFIX_CONTACT: "Contact", PREFIX_OPPORTUNITY: "Opportunity"}
#: Ids per ``WHERE Id IN (...)`` look-up: 100 quoted 18-character ids make a query URL of
#: about 3,000 characters, well under the 16,384 bytes a REST call's URI and headers may take.
PARENT_LOOKUP_IDS = 100

COMMON = ("Id", "CreatedDate", "SystemModstamp")

FIELDS: dict[str, tuple[str, ...]] = {
    "UserRole": ("Id", "Name", "SystemModstamp"),
    "User": (*COMMON, "Name", "Email", "IsActive", "UserRoleId", "ManagerId"),
    "OpportunityStage": (
        *COMMON,
        "ApiName",
        "MasterLabel",
        "IsActive",
        "IsClosed",
        "IsWon",
        "DefaultProbability",
        "ForecastCategory",
        "ForecastCategoryName",
        "SortOrder",
    ),
    "Account": (
        *COMMON,
        "Name",
        "OwnerId",
        "Industry",
        "Type",
        "BillingCountry",
        "BillingState",
        "AccountSource",
        "LastModifiedDate",
    ),
    "Contact": (
        *COMMON,
        "Name",
        "FirstName",
        "LastName",
        "Email",
        "AccountId",
        "OwnerId",
        "LeadSource",
        "LastModifiedDate",
    ),
    "Lead": (
        *COMMON,
        "Name",
        "FirstName",
        "LastName",
        "Company",
        "Email",
        "OwnerId",
        "Status",
        "LeadSource",
        "IsConverted",
        "ConvertedDate",
        "ConvertedAccountId",
        "ConvertedContactId",
        "ConvertedOpportunityId",
        "LastModifiedDate",
    ),
    "Opportunity": (
        *COMMON,
        "Name",
        "AccountId",
        "OwnerId",
        "ContactId",
        "RecordTypeId",
        "Amount",
        "CurrencyIsoCode",
        "StageName",
        "Probability",
        "IsClosed",
        "IsWon",
        "CloseDate",
        "Type",
        "LeadSource",
        "ForecastCategory",
        "ForecastCategoryName",
        "LastModifiedDate",
    ),
    "Task": (
        *COMMON,
        "Subject",
        "Status",
        "IsClosed",
        "ActivityDate",
        "TaskSubtype",
        "Type",
        "CallType",
        "CallDisposition",
        "CallDurationInSeconds",
        "WhoId",
        "WhatId",
        "AccountId",
        "OwnerId",
        "CompletedDateTime",
        "LastModifiedDate",
    ),
    "Event": (
        *COMMON,
        "Subject",
        "StartDateTime",
        "EndDateTime",
        "ActivityDateTime",
        "DurationInMinutes",
        "IsAllDayEvent",
        "EventSubtype",
        "WhoId",
        "WhatId",
        "AccountId",
        "OwnerId",
        "LastModifiedDate",
    ),
    "Note": (*COMMON, "Title", "ParentId", "OwnerId"),
    "CurrencyType": ("Id", "IsoCode", "ConversionRate", "DecimalPlaces", "IsCorporate", "IsActive"),
    "DatedConversionRate": (
        "Id",
        "IsoCode",
        "ConversionRate",
        "StartDate",
        "NextStartDate",
        "SystemModstamp",
    ),
}

#: Salesforce has no lifecycle dates: orgs keep when a person became an MQL, an SQL or a
#: customer in custom date (or datetime) fields of Contact and Lead. Attribute -> (the
#: connection option naming the org's fields, comma-separated; the fields read without it).
QUALIFIED_DATE_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "mql_at": ("mql_date_fields", ("MQL_Date__c",)),
    "sql_at": ("sql_date_fields", ("SQL_Date__c",)),
    "customer_at": ("customer_date_fields", ("Customer_Date__c",)),
}

#: Child relationship read with each opportunity: its stage history, oldest first.
HISTORY_RELATIONSHIP = "OpportunityHistories"
HISTORY_FIELDS = ("StageName", "CreatedDate")
#: Child relationship read with each lead: its Status changes (LeadHistory), for MQL/SQL times.
LEAD_HISTORY_RELATIONSHIP = "Histories"
LEAD_HISTORY_FIELDS = ("Field", "OldValue", "NewValue", "CreatedDate")

#: Opportunity.Type picklist values (standard and common custom ones) -> DealType.
DEAL_TYPES = {
    "new customer": "NEW_BUSINESS",
    "new business": "NEW_BUSINESS",
    "existing customer - upgrade": "UPGRADE",
    "upgrade": "UPGRADE",
    "existing customer - replacement": "RENEWAL",
    "renewal": "RENEWAL",
    "existing business": "UPSELL",
    "upsell": "UPSELL",
    "cross-sell": "CROSS_SELL",
    "cross sell": "CROSS_SELL",
}
#: Custom fields orgs commonly add for the reason a deal was lost.
LOST_REASON_FIELDS = ("Loss_Reason__c", "Lost_Reason__c", "Closed_Lost_Reason__c")
#: Custom Event fields orgs commonly add for a meeting's outcome (Event has no status of its
#: own), and their values (lowercase, letters only) -> meeting status.
MEETING_OUTCOME_FIELDS = ("Meeting_Outcome__c", "Outcome__c", "Meeting_Status__c")
MEETING_OUTCOMES = {
    "completed": "HELD",
    "held": "HELD",
    "scheduled": "ACCEPTED",
    "rescheduled": "ACCEPTED",
    "accepted": "ACCEPTED",
    "noshow": "NO_SHOW",
    "canceled": "CANCELLED",
    "cancelled": "CANCELLED",
}
