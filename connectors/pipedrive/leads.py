"""Leads converted to deals: kept, never swept nor soft-deleted.

Pipedrive marks a lead converted to a deal as deleted ("If the conversion is successfully
finished, the lead is marked as deleted", v2 ``LeadsApi.convertLeadToDeal``), so an account
may stop listing it in ``/v1/leads``; another may keep listing it. Either way the deal
names it in ``source_lead_id``, and a lead that a deal names is converted, not deleted:
the conversion KPIs (``leadConversionRate``, ``averageTimeToConvertDays``,
``mqlToCustomerRate``, ``sqlToCustomerRate``) count exactly these leads.

So after the lists, each converted lead the lists did not return is read by id
(``GET /v1/leads/{id}``, ``LeadsApi.getLead``; concurrently, inside the rate budget) and
written converted. One the API no longer returns at all (404/410) is *kept*: the stored
row stays, and a full read's reconciliation sweep leaves it (``Page.kept``).

Cost: a full read asks for every converted lead the lists left out (one request each);
an incremental one only for leads converted in its window (a deal made from a lead is
added at the conversion).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from connectors.pipedrive import settings
from connectors.pipedrive._state import Conversion, run_state
from connectors.pipedrive.concurrent import ordered_map
from core.sync.connector import HttpClient, Page, Request, StreamContext
from core.sync.errors import RequestFailed
from core.sync.records import LeadRecord

#: Marks a lead read by id (never sent by Pipedrive): it moves no cursor.
BY_ID = "__crmkpi_by_id"
#: Pipedrive's answers for a record that is gone.
GONE = (404, 410)
#: Leads read by id written per page.
BATCH = 100


def unlisted(
    conversions: dict[str, Conversion], listed: set[str], since: datetime | None
) -> list[str]:
    """Converted leads the lists did not return that this run must account for: all of
    them on a full read (``since`` None), else those converted at or after ``since``."""
    return [
        lead_id
        for lead_id, (_, converted_at, _) in conversions.items()
        if lead_id not in listed
        and (since is None or converted_at is None or converted_at >= since)
    ]


async def converted_leads(
    http: HttpClient, ctx: StreamContext, listed: set[str]
) -> AsyncIterator[Page]:
    """Pages of the converted leads ``listed`` misses: read by id, or kept when gone."""
    missing = unlisted(run_state(ctx).conversions, listed, ctx.since())
    raws: list[dict[str, Any]] = []
    kept: list[tuple[type[LeadRecord], str]] = []
    async for lead_id, raw in ordered_map(missing, lambda i: _lead(http, i)):
        if raw is None:
            kept.append((LeadRecord, lead_id))
        else:
            raws.append({**raw, BY_ID: True})
        if len(raws) + len(kept) >= BATCH:
            yield Page(raws=raws, kept=kept)
            raws, kept = [], []
    if raws or kept:
        yield Page(raws=raws, kept=kept)


async def _lead(http: HttpClient, lead_id: str) -> dict[str, Any] | None:
    """The lead, or None when Pipedrive no longer returns it."""
    try:
        page = await http.send(Request(path=f"{settings.V1_LEADS}/{lead_id}"))
    except RequestFailed as exc:
        if exc.status in GONE:
            return None
        raise
    data = page.get("data") if isinstance(page, dict) else None
    return dict(data) if isinstance(data, dict) and data.get("id") is not None else None
