"""KPIS.md's worked examples rendered the way each CRM stores them (issue #24).

The facts go through each connector's own mapping functions (HubSpot lifecycle properties,
Salesforce leads converted into contacts with their activities moved, Pipedrive leads turned
into deals), and the normalized rows those emit are what the KPIs read: 20 of 200 MQLs → 0.10,
10 of 50 SQLs → 0.20, 80 of 100 leads followed up → 0.80 with a 2-hour response.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.hubspot._activities import map_engagement
from connectors.hubspot.mapping import map_contact as hubspot_contact
from connectors.pipedrive._map_activities import map_activity as pipedrive_activity
from connectors.pipedrive._map_deals import map_deal as pipedrive_deal
from connectors.pipedrive._map_people import map_lead as pipedrive_lead
from connectors.pipedrive.custom_fields import FieldCatalog
from connectors.salesforce.activities import map_task
from connectors.salesforce.mapping import map_lead as salesforce_lead
from connectors.salesforce.mapping import map_opportunity
from core.metrics import KpiRequest, PeriodSpec
from core.models import SYNCED_MODELS
from core.sync.records import Record
from tests.core.metrics.factory import Seed, utc

MARCH = PeriodSpec(start=utc(2026, 3, 1).date(), end=utc(2026, 4, 1).date())
NOW = utc(2026, 5, 1)
CREATED = utc(2026, 3, 10, 12)
WON_AT = utc(2026, 4, 3, 9)


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def _store(seed: Seed, records: list[Record]) -> None:
    """Rows as the sync engine writes them: every record field is a model column."""
    for record in records:
        values = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "deleted"}
        values["deleted_at"] = utc(2026, 1, 1) if record.deleted else None
        await seed.add(SYNCED_MODELS[record.record_type], **values)


# -- HubSpot: contacts and their lifecycle stage dates -----------------------------------------


def _hubspot_contact(i: int, qualified: str, customer: bool) -> dict[str, Any]:
    props = {
        "firstname": f"Ana{i}",
        "createdate": _z(utc(2026, 1, 5)),
        "lastmodifieddate": _z(WON_AT if customer else CREATED),
        "lifecyclestage": "customer" if customer else qualified,
        "hs_lifecyclestage_lead_date": _z(utc(2026, 1, 5)),
        f"hs_lifecyclestage_{qualified}_date": _z(CREATED),
    }
    if customer:  # HubSpot moves a contact to customer when its deal is won
        props["hs_lifecyclestage_customer_date"] = _z(WON_AT)
    return {"id": str(i), "properties": props, "archived": False}


@pytest.mark.parametrize(
    ("kpi", "qualified", "cohort", "customers", "rate"),
    [
        ("mqlToCustomerRate", "marketingqualifiedlead", 200, 20, 0.10),
        ("sqlToCustomerRate", "salesqualifiedlead", 50, 10, 0.20),
    ],
)
async def test_hubspot_lifecycle_conversion(
    session: AsyncSession, kpi: str, qualified: str, cohort: int, customers: int, rate: float
) -> None:
    seed = await Seed.create(session)
    records: list[Record] = [
        hubspot_contact(_hubspot_contact(i + 1, qualified, i < customers)) for i in range(cohort)
    ]
    await _store(seed, records)
    result = await seed.one(KpiRequest(kpi, MARCH), now=NOW)
    assert (result.value, result.numerator, result.denominator) == (rate, customers, cohort)
    early = await seed.one(KpiRequest(kpi, MARCH, as_of=utc(2026, 4, 2)), now=NOW)
    assert early.value == 0.0


async def test_hubspot_lead_contacts_follow_up(session: AsyncSession) -> None:
    """HubSpot: the lead is the contact itself, its calls associated with it."""
    seed = await Seed.create(session)
    records: list[Record] = []
    for i in range(100):
        raw = _hubspot_contact(i + 1, "lead", False)
        raw["properties"]["hs_lifecyclestage_lead_date"] = _z(CREATED)
        records.append(hubspot_contact(raw))
        if i < 80:
            done = _z(CREATED + timedelta(hours=2))
            call = {
                "id": str(1000 + i),
                "properties": {
                    "hs_timestamp": done,
                    "hs_createdate": done,
                    "hs_call_status": "COMPLETED",
                    "hs_call_title": "Intro call",
                },
                "associations": {"contacts": {"results": [{"id": str(i + 1), "type": "x"}]}},
            }
            records.append(map_engagement("calls", call))
    await _store(seed, records)
    await _check_follow_up(seed)


async def _check_follow_up(seed: Seed) -> None:
    rate, hours = await seed.run(
        KpiRequest("leadFollowUpRate", MARCH),
        KpiRequest("averageResponseTimeHours", MARCH),
        now=NOW,
    )
    assert (rate.value, rate.numerator, rate.denominator) == (0.8, 80, 100)
    assert hours.value == pytest.approx(2.0)


# -- Salesforce: leads converted into contacts, their tasks moved ------------------------------


def _sf_id(prefix: str, i: int) -> str:
    return f"{prefix}{i:015d}"


def _sf_lead(
    i: int, converted: bool, history: Sequence[tuple[str, datetime]] = ()
) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "Id": _sf_id("00Q", i),
        "CreatedDate": _z(CREATED),
        "SystemModstamp": _z(CREATED),
        "LastName": f"Lead{i}",
        "Status": "Closed - Converted" if converted else "Open - Not Contacted",
        "IsConverted": converted,
        "IsDeleted": False,
    }
    if converted:
        raw |= {
            "ConvertedDate": "2026-03-11",
            "ConvertedContactId": _sf_id("003", i),
            "ConvertedAccountId": _sf_id("001", i),
            "ConvertedOpportunityId": _sf_id("006", i),
        }
    if history:
        raw["Histories"] = {
            "records": [
                {"Field": "Status", "OldValue": old, "NewValue": new, "CreatedDate": _z(at)}
                for (old, _), (new, at) in zip(
                    [("Open - Not Contacted", CREATED), *history], history, strict=False
                )
            ]
        }
    return raw


def _sf_opportunity(i: int, won: bool) -> list[Record]:
    stage = "Closed Won" if won else "Closed Lost"
    return map_opportunity(
        {
            "Id": _sf_id("006", i),
            "CreatedDate": _z(utc(2026, 3, 11)),
            "SystemModstamp": _z(WON_AT),
            "StageName": stage,
            "IsClosed": True,
            "IsWon": won,
            "CloseDate": "2026-04-03",
            "AccountId": _sf_id("001", i),
            "ContactId": _sf_id("003", i),
            "IsDeleted": False,
            "OpportunityHistories": {
                "records": [
                    {"StageName": "Prospecting", "CreatedDate": _z(utc(2026, 3, 11))},
                    {
                        "StageName": "Closed Won" if won else "Closed Lost",
                        "CreatedDate": _z(WON_AT),
                    },
                ]
            },
        }
    )


async def test_salesforce_converted_leads_follow_up(session: AsyncSession) -> None:
    """50 leads converted (their calls now on the contact), 30 open with a call, 20 without."""
    seed = await Seed.create(session)
    records: list[Record] = []
    for i in range(100):
        converted = i < 50
        records.append(salesforce_lead(_sf_lead(i, converted)))
        if converted:
            records += _sf_opportunity(i, won=i % 2 == 0)
        if i < 80:
            who = _sf_id("003", i) if converted else _sf_id("00Q", i)
            task = {
                "Id": _sf_id("00T", i),
                "CreatedDate": _z(CREATED),
                "SystemModstamp": _z(CREATED),
                "WhoId": who,
                "WhatId": _sf_id("006", i) if converted else None,
                "IsClosed": True,
                "Status": "Completed",
                "TaskSubtype": "Call",
                "CompletedDateTime": _z(CREATED + timedelta(hours=2)),
                "IsDeleted": False,
            }
            records.append(map_task(task))
    await _store(seed, records)
    await _check_follow_up(seed)


async def test_salesforce_mql_to_customer(session: AsyncSession) -> None:
    """200 leads reach an MQL status in March; 20 convert with a won opportunity, 10 more
    with a lost one (not customers)."""
    seed = await Seed.create(session)
    kinds = {"Working - Contacted": "mql", "Closed - Converted": "sql"}
    records: list[Record] = []
    for i in range(200):
        converted = i < 30
        history = [("Working - Contacted", CREATED)]
        if converted:
            history.append(("Closed - Converted", utc(2026, 3, 11)))
        raw = _sf_lead(i, converted, history)
        raw["CreatedDate"] = _z(utc(2026, 2, 1))
        records.append(salesforce_lead(raw, kinds.get))
        if converted:
            records += _sf_opportunity(i, won=i < 20)
    await _store(seed, records)
    result = await seed.one(KpiRequest("mqlToCustomerRate", MARCH), now=NOW)
    assert (result.value, result.numerator, result.denominator) == (0.1, 20, 200)


# -- Pipedrive: leads turned into deals, activities moved to the deal --------------------------


async def test_pipedrive_converted_leads_follow_up(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    catalog = FieldCatalog.from_metadata([])
    records: list[Record] = []
    conversions: dict[str, tuple[str, datetime | None, str | None]] = {}
    for i in range(50):
        conversions[f"lead-{i}"] = (str(500 + i), utc(2026, 3, 11), str(900 + i))
        records += pipedrive_deal(
            {
                "id": 500 + i,
                "title": f"Deal {i}",
                "status": "won" if i % 2 else "open",
                "won_time": _z(WON_AT) if i % 2 else None,
                "add_time": _z(utc(2026, 3, 11)),
                "update_time": _z(WON_AT),
                "person_id": 700 + i,
                "org_id": 900 + i,
                "source_lead_id": f"lead-{i}",
                "stage_id": 1,
                "pipeline_id": 1,
            },
            catalog,
        )
    for i in range(100):
        lead = {
            "id": f"lead-{i}",
            "title": f"Lead {i}",
            "add_time": _z(CREATED),
            "update_time": _z(CREATED),
            "label_ids": [],
            # A converted lead keeps no person here: the deal carries it.
            "person_id": None,
        }
        records.append(pipedrive_lead(lead, catalog, {}, conversions))
        if i < 80:
            moved = i < 50  # converted: its activity moved to the deal (and its person)
            activity = {
                "id": 3000 + i,
                "type": "call",
                "subject": "Intro call",
                "add_time": _z(CREATED),
                "update_time": _z(CREATED),
                "done": True,
                "marked_as_done_time": _z(CREATED + timedelta(hours=2)),
                "deal_id": 500 + i if moved else None,
                "person_id": 700 + i if moved else None,
                "lead_id": None if moved else f"lead-{i}",
            }
            records.append(pipedrive_activity(activity, {}))
    await _store(seed, records)
    await _check_follow_up(seed)
