"""What a Pipedrive account may lack, how the connector finds out, and how it reads
Pipedrive's "not on this account" answers.

Pipedrive answers a missing permission or feature with its error envelope
``{"success": false, "error": "...", "error_info": "...", "errorCode": N}``: 402 when the
company's plan lacks the feature, 403 when the token's user may not see it (the legacy
teams API answers only admins), 404 when the endpoint is not there for this account.
Only requests that name a capability (``Request.capability``) are classified; any other
4xx fails its stream with Pipedrive's message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from connectors.pipedrive import settings
from core.sync.capabilities import Capability, CapabilityStatus, CapabilityUnavailable
from core.sync.connector import HttpClient, Request

CAP_TEAMS = "teams"
CAP_ARCHIVED_DEALS = "archived_deals"
CAP_NOTES = "notes"
CAP_ACTIVITY_TYPES = "activity_types"
CAP_LEAD_CONVERSIONS = "lead_conversions"
#: Lead labels (read by the leads stream only; not probed: without them labels stay ids).
CAP_LEAD_LABELS = "lead_labels"

#: KPIs that need to know which leads became deals.
CONVERSION_KPIS = (
    "leadConversionRate",
    "averageTimeToConvertDays",
    "mqlToCustomerRate",
    "sqlToCustomerRate",
)

_KIND = {
    402: "not on this company's plan",
    403: "not permitted for this token",
    404: "not available on this account",
    410: "no longer offered",
}


def unavailable_reason(response: httpx.Response) -> str | None:
    """Why an answer means the account lacks what was asked (None: an ordinary error)."""
    kind = _KIND.get(response.status_code)
    if kind is None:
        return None
    message = _error_text(response)
    return f"{kind} (HTTP {response.status_code}{': ' + message if message else ''})"


def _error_text(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    return str(body.get("error") or "")[:200]


# (key, title, probe path, probe params, streams skipped while unavailable)
_PROBES: tuple[tuple[str, str, str, dict[str, Any] | None, tuple[str, ...]], ...] = (
    (CAP_TEAMS, "Teams (legacy teams API, admin token)", settings.V1_TEAMS, None, ("teams",)),
    (
        CAP_ARCHIVED_DEALS,
        "Archived deals",
        settings.V2_ARCHIVED_DEALS,
        {"limit": 1},
        (),
    ),
    (CAP_NOTES, "Notes", settings.V1_NOTES, {"limit": 1}, ("notes",)),
    (CAP_ACTIVITY_TYPES, "Activity types", settings.V1_ACTIVITY_TYPES, None, ()),
)


async def discover(http: HttpClient) -> Sequence[Capability]:
    """Probe each optional endpoint with one small request, then whether deals carry
    ``source_lead_id`` when ``include_fields`` asks for it."""
    found: list[Capability] = []
    for key, title, path, params, streams in _PROBES:
        try:
            await http.send(Request(path=path, params=params, capability=key))
        except CapabilityUnavailable as exc:
            found.append(
                Capability(key, title, CapabilityStatus.UNAVAILABLE, exc.reason, streams=streams)
            )
        else:
            found.append(Capability(key, title, CapabilityStatus.AVAILABLE, streams=streams))
    found.append(await _conversions(http))
    return found


async def _conversions(http: HttpClient) -> Capability:
    """AVAILABLE when deals answer with a ``source_lead_id`` key (null or a lead id),
    UNAVAILABLE when they come without it although asked, UNKNOWN with no deal to tell."""
    title = "Lead conversions (deal source_lead_id)"
    page = await http.send(
        Request(
            path=settings.V2_DEALS,
            params={"limit": 1, "include_fields": settings.DEAL_INCLUDE_FIELDS},
        )
    )
    data = page.get("data") if isinstance(page, dict) else None
    if not isinstance(data, list) or not data:
        return Capability(
            CAP_LEAD_CONVERSIONS, title, CapabilityStatus.UNKNOWN, kpis=CONVERSION_KPIS
        )
    if "source_lead_id" in data[0]:
        return Capability(
            CAP_LEAD_CONVERSIONS, title, CapabilityStatus.AVAILABLE, kpis=CONVERSION_KPIS
        )
    return Capability(
        CAP_LEAD_CONVERSIONS,
        title,
        CapabilityStatus.UNAVAILABLE,
        "deals come without source_lead_id although include_fields asks for it: "
        "which leads became deals is unknown",
        kpis=CONVERSION_KPIS,
    )
