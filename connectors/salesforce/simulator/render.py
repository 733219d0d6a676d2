"""The shared seeded business (core.simulation.dataset) as the rows of a Salesforce org.

Each object becomes a :class:`Table`: its describe (field names, types, custom flags) and
its rows as the REST API returns them (``attributes``, ``2013-05-20T20:49:32.000+0000``
datetimes, ids with the object's key prefix). Rendering runs once per dataset change.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.salesforce.simulator.accounts import OrgFeatures
from connectors.salesforce.simulator.processes import render_processes
from connectors.salesforce.simulator.sales import render_activities, render_currencies, render_deals
from connectors.salesforce.simulator.tables import (
    Table,
    api_row,
    common_fields,
    forecast_category,
    make_table,
    opt_id,
    opt_stamp,
    org_fields,
    sfid,
    stamp,
)
from core.simulation.dataset import Dataset


def render(data: Dataset, *, version: str, org: OrgFeatures | None = None) -> dict[str, Table]:
    """Every object of the org, keyed by sObject name, as ``org`` offers them. Without
    record types the org has one sales process (no RecordType objects, no
    ``Opportunity.RecordTypeId``)."""
    org = org or OrgFeatures()
    multi_currency, record_types = org.multi_currency, org.record_types
    tables: dict[str, Table] = {}

    def add(table: Table, rows: list[dict[str, Any]]) -> None:
        table.rows = [api_row(table.name, version, r) for r in rows]
        tables[table.name] = table

    org_start = min(u.created_at for u in data.users)
    add(
        make_table(
            "Organization",
            ("Id", "Name", "DefaultCurrencyIsoCode", "TimeZoneSidKey", "SystemModstamp"),
        ),
        [
            {
                "Id": sfid("Organization", data.seed),
                "Name": f"Simulated Org {data.seed}",
                "DefaultCurrencyIsoCode": data.currency,
                "TimeZoneSidKey": org.timezone,
                "SystemModstamp": stamp(org_start),
            }
        ],
    )
    add(
        make_table("UserRole", ("Id", "Name", "SystemModstamp")),
        [
            {"Id": sfid("UserRole", t.id), "Name": t.name, "SystemModstamp": stamp(org_start)}
            for t in data.teams
        ],
    )
    add(
        make_table(
            "User",
            org_fields("User", "FirstName", "LastName", "LastModifiedDate"),
        ),
        [
            {
                **common_fields(u, "User"),
                "Name": f"{u.first_name} {u.last_name}",
                "FirstName": u.first_name,
                "LastName": u.last_name,
                "Email": u.email,
                "IsActive": True,
                "UserRoleId": sfid("UserRole", u.team_id),
                "ManagerId": None,
            }
            for u in data.users
        ],
    )
    for row in tables["User"].rows:
        row.pop("IsDeleted")
    stages = data.pipelines[0].stages
    add(
        make_table(
            "OpportunityStage",
            org_fields("OpportunityStage"),
        ),
        [
            {
                "Id": sfid("OpportunityStage", s.id),
                "ApiName": s.name,
                "MasterLabel": s.name,
                "IsActive": True,
                "IsClosed": s.is_closed,
                "IsWon": s.kind == "WON",
                "DefaultProbability": round(s.probability * 100),
                "ForecastCategory": forecast_category(s.kind, s.probability)[0],
                "ForecastCategoryName": forecast_category(s.kind, s.probability)[1],
                "SortOrder": s.order + 1,
                "CreatedDate": stamp(org_start),
                "SystemModstamp": stamp(org_start),
            }
            for s in stages
        ],
    )
    add(
        make_table(
            "Account",
            org_fields("Account", "IsDeleted"),
            {"Tier__c": "picklist", "HQ_Location__c": "location"},
        ),
        [
            {
                **common_fields(a, "Account"),
                "Name": a.name,
                "OwnerId": sfid("User", a.owner_id),
                "Industry": a.industry,
                "Type": "Customer - Direct",
                "BillingCountry": a.country,
                "BillingState": a.region,
                "AccountSource": a.source,
                "Tier__c": ("Gold", "Silver", "Bronze")[a.id % 3],
                "HQ_Location__c": None,
            }
            for a in data.accounts
        ],
    )
    add(
        make_table(
            "Contact",
            org_fields("Contact", "IsDeleted"),
            {
                "Lifecycle_Stage__c": "picklist",
                "MQL_Date__c": "datetime",
                "SQL_Date__c": "datetime",
            },
        ),
        [
            {
                **common_fields(c, "Contact"),
                "Name": f"{c.first_name} {c.last_name}",
                "FirstName": c.first_name,
                "LastName": c.last_name,
                "Email": c.email,
                "AccountId": sfid("Account", c.account_id) if c.account_id else None,
                "OwnerId": sfid("User", c.owner_id),
                "LeadSource": c.source,
                "Lifecycle_Stage__c": c.lifecycle_stage,
                "MQL_Date__c": opt_stamp(c.lifecycle.get("marketingqualifiedlead")),
                "SQL_Date__c": opt_stamp(c.lifecycle.get("salesqualifiedlead")),
            }
            for c in data.contacts
        ],
    )
    lead_status = {
        "Open": "Open - Not Contacted",
        "Unqualified": "Closed - Not Converted",
        "Converted": "Closed - Converted",
    }
    add(
        make_table(
            "Lead",
            org_fields("Lead", "IsDeleted"),
        ),
        [
            {
                **common_fields(lead, "Lead"),
                "Name": f"{lead.first_name} {lead.last_name}",
                "FirstName": lead.first_name,
                "LastName": lead.last_name,
                "Company": lead.company,
                "Email": lead.email,
                "OwnerId": sfid("User", lead.owner_id),
                "Status": lead_status.get(lead.status, lead.status),
                "LeadSource": lead.source,
                "IsConverted": lead.converted_at is not None,
                "ConvertedDate": lead.converted_at.date().isoformat()
                if lead.converted_at
                else None,
                "ConvertedAccountId": opt_id("Account", lead.converted_account_id),
                "ConvertedContactId": opt_id("Contact", lead.converted_contact_id),
                "ConvertedOpportunityId": opt_id("Opportunity", lead.converted_deal_id),
            }
            for lead in data.leads
        ],
    )
    if org.lead_history:
        _render_lead_history(data, tables, version, lead_status)
    if record_types:
        render_processes(data, add, org_start)
    render_deals(data, version, multi_currency, add, record_types=record_types)
    render_activities(data, version, add, timezone=org.timezone)
    if multi_currency:
        render_currencies(data, add)
        if not org.dated_rates:
            del tables["DatedConversionRate"]
    _restrict(tables, org)
    stage_names = [str(r["ApiName"]) for r in tables["OpportunityStage"].rows]
    for table in tables.values():
        table.fill_picklists({"StageName": stage_names} if table.name == "Opportunity" else None)
    return tables


def _restrict(tables: dict[str, Table], org: OrgFeatures) -> None:
    """What the API user's profile cannot see: objects (``INVALID_TYPE``) and fields."""
    if not org.user_roles:
        tables["UserRole"].queryable = False
    if not org.notes:
        tables["Note"].queryable = False
    for sobject, name in org.hidden:
        if sobject in tables:
            tables[sobject].hidden.add(name)


def _render_lead_history(
    data: Dataset, tables: dict[str, Table], version: str, statuses: dict[str, str]
) -> None:
    """LeadHistory: a ``created`` row, then the Status changes (child ``Histories``)."""
    opened = statuses["Open"]
    history = make_table(
        "LeadHistory",
        ("Id", "LeadId", "Field", "OldValue", "NewValue", "IsDeleted", "CreatedDate"),
    )
    leads = tables["Lead"]
    leads.children = {"Histories": "LeadHistory"}
    for lead, row in zip(data.leads, leads.rows, strict=True):
        changes: list[tuple[str, str | None, str | None, datetime]] = [
            ("created", None, None, lead.created_at)
        ]
        if lead.converted_at is not None:
            changes.append(("Status", opened, statuses["Converted"], lead.converted_at))
            changes.append(("leadConverted", None, None, lead.converted_at))
        elif lead.status != "Open":
            changes.append(("Status", opened, statuses[lead.status], lead.updated_at))
        children = []
        for field_name, old, new, at in changes:
            child = api_row(
                "LeadHistory",
                version,
                {
                    "Id": sfid("LeadHistory", len(history.rows) + 1),
                    "LeadId": row["Id"],
                    "Field": field_name,
                    "OldValue": old,
                    "NewValue": new,
                    "IsDeleted": row["IsDeleted"],
                    "CreatedDate": stamp(at),
                },
            )
            children.append(child)
            history.rows.append(child)
        row["_children"] = {"Histories": children}
    tables["LeadHistory"] = history
