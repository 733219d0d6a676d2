"""Where each KPI's facts come from in each CRM: which field gives which timestamp or link.

Data for the catalogue (docs/kpis.md, ``crmkpi catalogue``), so a user can see why a number
differs from the CRM's own report. Notes are written per *fact* (a deal's close time, a lead's
conversion, an activity's done time...) and each built-in KPI names the facts it reads, so one
correction reaches every KPI using it. They describe what the connectors read (see
connectors/*/mapping code) and the rulings of KPIS.md the metrics core applies on top.
"""

from __future__ import annotations

CRMS = ("HubSpot", "Pipedrive", "Salesforce")

#: fact -> (HubSpot, Pipedrive, Salesforce) notes.
FACTS: dict[str, tuple[str, str, str]] = {
    "created": (
        "deal `createdate`",
        "deal `add_time`",
        "Opportunity `CreatedDate`",
    ),
    "closed": (
        "deal `closedate` once its stage is closed (`hs_is_closed_won` for won); the expected "
        "close date of an open deal is ignored",
        "`won_time` / `lost_time` (status won / lost)",
        "when the Opportunity entered its closed stage (OpportunityHistory `CreatedDate`); "
        "`CloseDate` at midnight UTC when stage history is not tracked; `IsWon` for won",
    ),
    "money": (
        "`amount` in `deal_currency_code`, at the portal's exchange rates (`effectiveAt`) of "
        "the local close date",
        "`value` in `currency`; Pipedrive holds no exchange rates, so other currencies need "
        "rates imported into the workspace",
        "`Amount` in `CurrencyIsoCode`, at DatedConversionRate (advanced currency management) "
        "else CurrencyType rates",
    ),
    "stages": (
        "`hs_date_entered_<stage>` / `hs_date_exited_<stage>` and the `dealstage` history; "
        "stage probability from the pipeline's stage metadata",
        "the deal flow's `stage_id` changes; Pipedrive has no won/lost stages, so each "
        "pipeline gets a Won and a Lost stage after its own, entered at the deal's "
        "`won_time` / `lost_time` (where its last open stay ends); probability "
        "`deal_probability`",
        "OpportunityHistory `StageName` rows; probability `DefaultProbability` of OpportunityStage",
    ),
    "leads": (
        "Leads object (`hs_createdate`) and contacts that ever were at lifecycle "
        "subscriber/lead (`hs_lifecyclestage_lead_date`, else `createdate`)",
        "leads (`add_time`); persons are not leads",
        "Lead `CreatedDate`; contacts are not leads",
    ),
    "conversion": (
        "a Leads-object lead: its associated deal (once in the qualified stage) won, at the "
        "deal's close time; a contact: `hs_lifecyclestage_customer_date` (HubSpot sets it when "
        "an associated deal is won)",
        "the deal whose `source_lead_id` is the lead, won, at its `won_time`",
        "a lead: `ConvertedOpportunityId` won, at its close time (`ConvertedDate` is the "
        "conversion to an opportunity, not to a customer, and is not used); a contact: its "
        "custom customer date field (`Customer_Date__c`, option `customer_date_fields`)",
    ),
    "qualified": (
        "contacts' `hs_lifecyclestage_marketingqualifiedlead_date` / "
        "`..._salesqualifiedlead_date`; a Leads-object lead is SQL when it enters the "
        "qualified stage",
        "person custom fields 'MQL date' / 'SQL date' (days, midnight UTC); lead labels "
        "mapped to mql/sql (`lifecycle` mapping) from the lead's creation (no label "
        "history), its status 'Converted' so mapped from the conversion (its deal's "
        "`add_time`)",
        "contacts' custom date fields `MQL_Date__c` / `SQL_Date__c` (other names: options "
        "`mql_date_fields` / `sql_date_fields`; a Date field from midnight in the org's time "
        "zone); a lead: the earlier of those fields and the first LeadHistory `Status` change "
        "to a status mapped to mql/sql (`lifecycle` mapping; field history tracking on "
        "Lead.Status needed)",
    ),
    "activities": (
        "calls, emails, meetings, notes and tasks; done at `hs_timestamp` (tasks "
        "`hs_task_completion_date`), meetings at `hs_meeting_start_time` unless "
        "`hs_meeting_outcome` says scheduled, rescheduled, canceled or no-show",
        "activities done at `marked_as_done_time`, meetings at their start (`due_date` + "
        "`due_time`, minutes); notes done at `add_time`",
        "Tasks due from the start of `ActivityDate` (a date) in the org's time zone "
        "(`Organization.TimeZoneSidKey`), done at `CompletedDateTime` (else "
        "`LastModifiedDate`) when `IsClosed`; Events "
        "done at `StartDateTime`, held by their outcome field (`Meeting_Outcome__c`, "
        "`Outcome__c` or `Meeting_Status__c`) or, without one, once `EndDateTime` has passed; "
        "Notes at `CreatedDate`",
    ),
    "lead_activities": (
        "activities associated with the lead (Leads object) or with the contact that is the lead",
        "activities with the lead's `lead_id`; once converted, Pipedrive moves them to the "
        "deal: those of the lead's person, else its converted deal's `person_id`",
        "Tasks and Events whose `WhoId` is the lead; once converted, Salesforce moves them to "
        "`ConvertedContactId`. A Note has one parent (`ParentId`): a note whose parent is an "
        "opportunity is linked to no person",
    ),
    "meetings": (
        "meetings created (`hs_createdate`); accepted or held from `hs_meeting_outcome`",
        "meetings created (`add_time`); held when `done`, else by the invitees' `attendees` "
        "`status` (accepted / declined / none yet) or, without invitees, booked (accepted); "
        "no meeting outcome exists, so an activity type of the company's named for a "
        "no-show or cancellation marks one (not held)",
        "Events created (`CreatedDate`); an Event whose end has passed is held (Salesforce "
        "has no acceptance status)",
    ),
    "responses": (
        "no HubSpot field is read as a classified response yet",
        "no Pipedrive field is read as a classified response yet",
        "no Salesforce field is read as a classified response yet",
    ),
    "customers": (
        "won deals of a company (the deal's primary company association), else of its "
        "contact; days in the workspace timezone",
        "won deals of an organization (`org_id`), else of its person (`person_id`)",
        "won Opportunities of an account (`AccountId`), else of its contact (`ContactId`)",
    ),
    "activity_accounts": (
        "activities associated with the company (or the contact of a contact customer)",
        "activities with the organization's `org_id` (or the person's `person_id`)",
        "Tasks and Events with the account's `AccountId` or `WhatId` (or the contact's "
        "`WhoId`); a Note (no `AccountId`) by its `ParentId`: the account itself, or the "
        "`AccountId` of the contact or opportunity it is on",
    ),
    "recurring": (
        "`hs_mrr`; contract dates from custom properties mapped with `deal_attributes`",
        "deal custom fields 'MRR', 'Contract start', 'Contract end'",
        "no standard field: a custom field mapped with `deal_attributes.recurring_amount`",
    ),
    "deal_type": (
        "`dealtype` (newbusiness, existingbusiness...)",
        "deal custom field 'Deal type'",
        "Opportunity `Type`",
    ),
    "cost": (
        "a custom deal property mapped with `deal_attributes.cost`",
        "deal custom field 'Cost'",
        "a custom field mapped with `deal_attributes.cost`",
    ),
    "source": (
        "`hs_analytics_source` of the deal that began the customer stretch",
        "the deal's `channel` (or a 'Source' custom field)",
        "Opportunity `LeadSource`",
    ),
    "imported": (
        "imported (`crmkpi import` of spend, visitors or surveys): HubSpot data is not read",
        "imported (`crmkpi import` of spend, visitors or surveys): Pipedrive data is not read",
        "imported (`crmkpi import` of spend, visitors or surveys): Salesforce data is not read",
    ),
}

_DEALS_WON = ("closed", "money")
_CUSTOMER = ("customers", "closed", "recurring")

#: Built-in KPI -> the facts it reads, in the order they matter.
KPI_FACTS: dict[str, tuple[str, ...]] = {
    "newLeads": ("leads",),
    "leadConversionRate": ("leads", "conversion"),
    "mqlToCustomerRate": ("qualified", "conversion"),
    "sqlToCustomerRate": ("qualified", "conversion"),
    "opportunitiesCreated": ("created",),
    "proposalsSent": ("stages",),
    "dealsWon": ("closed",),
    "dealsLost": ("closed",),
    "salesRevenue": _DEALS_WON,
    "salesGrowthRate": _DEALS_WON,
    "winRate": ("closed",),
    "winLossRatio": ("closed",),
    "closeRate": ("created", "closed"),
    "leadCloseRatio": ("closed", "leads"),
    "averageDealSize": _DEALS_WON,
    "pipelineValue": ("created", "closed", "money"),
    "weightedPipelineValue": ("created", "closed", "money", "stages"),
    "openDeals": ("created", "closed"),
    "averageSalesCycleDays": ("created", "closed"),
    "averageTimeToConvertDays": ("leads", "conversion"),
    "stageDuration": ("stages",),
    "stageConversion": ("created", "stages"),
    "averageProfitMargin": ("closed", "money", "cost"),
    "activities": ("activities",),
    "pendingFollowUps": ("activities", "created", "closed", "leads", "lead_activities"),
    "leadFollowUpRate": ("leads", "lead_activities", "activities"),
    "averageResponseTimeHours": ("leads", "lead_activities", "activities"),
    "meetingAcceptanceRate": ("meetings",),
    "positiveResponseRate": ("responses",),
    "newCustomers": _CUSTOMER,
    "activeCustomers": _CUSTOMER,
    "customerChurnRate": _CUSTOMER,
    "netCustomerChurnRate": _CUSTOMER,
    "customerRetentionRate": _CUSTOMER,
    "averageCustomerLifetimeDays": _CUSTOMER,
    "arpa": (*_CUSTOMER, "money"),
    "customerLifetimeValue": (*_CUSTOMER, "money"),
    "averageCustomerValue": ("customers", "closed", "money"),
    "referralCustomers": (*_CUSTOMER, "source"),
    "inactiveCustomers": (*_CUSTOMER, "activity_accounts", "activities"),
    "existingCustomerEngagement": (*_CUSTOMER, "activity_accounts", "activities"),
    "upsellCrossSellRate": (*_CUSTOMER, "deal_type"),
    "expansionRevenue": (*_CUSTOMER, "deal_type", "money"),
    "mrr": ("recurring", "closed", "money"),
    "customerAcquisitionCost": ("imported", *_CUSTOMER),
    "costPerAcquisition": ("imported", *_CUSTOMER),
    "costPerLead": ("imported", "leads"),
    "roi": ("imported", *_DEALS_WON),
    "incrementalRevenue": ("imported", *_DEALS_WON),
    "visitorToLeadRate": ("imported", "leads"),
    "nps": ("imported",),
    "csat": ("imported",),
}


def sources(facts: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    """(CRM, notes) for a KPI's ``facts``, one entry per CRM; empty without facts."""
    return [(crm, [FACTS[fact][i] for fact in facts]) for i, crm in enumerate(CRMS) if facts]


__all__ = ["CRMS", "FACTS", "KPI_FACTS", "sources"]
