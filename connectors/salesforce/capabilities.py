"""What a Salesforce org offers the API user, and how Salesforce says it does not.

Discovery reads the global describe (``GET /sobjects/``: the objects this user can see;
an object the org lacks or the profile hides is simply not listed) and ``GET /limits``
(``DailyBulkV2QueryJobs``: Bulk API 2.0 query jobs). Single-currency orgs have no
``CurrencyType``; ``DatedConversionRate`` needs Advanced Currency Management;
``RecordType``/``BusinessProcess`` come with record types; ``LeadHistory`` with field
history tracking on Lead; ``UserRole`` needs "View Setup and Configuration".

Answers that mean "not on this org / for this user" (:func:`unavailable_reason`): 400
``INVALID_TYPE`` in SOQL, 404 ``NOT_FOUND``, 403 ``INSUFFICIENT_ACCESS`` /
``INSUFFICIENT_PRIVILEGES`` / ``API_DISABLED_FOR_ORG`` / ``FUNCTIONALITY_NOT_ENABLED`` (also
400 for the latter, as some editions send it). 403 ``REQUEST_LIMIT_EXCEEDED`` is the daily
quota, never a capability.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from connectors.salesforce import client
from connectors.salesforce.state import run_state
from core.sync.capabilities import Capability, CapabilityStatus
from core.sync.connector import HttpClient, Request, StreamContext

AVAILABLE, UNAVAILABLE, UNKNOWN = (
    CapabilityStatus.AVAILABLE,
    CapabilityStatus.UNAVAILABLE,
    CapabilityStatus.UNKNOWN,
)

#: key -> (title, the objects it needs, the streams skipped without it, why it is missing).
OBJECT_CAPABILITIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], str]] = {
    "user_roles": (
        "User roles (teams)",
        ("UserRole",),
        ("teams",),
        "UserRole is not visible to this user (needs View Setup and Configuration)",
    ),
    "notes": ("Notes", ("Note",), ("notes",), "Note is not visible to this user"),
    "record_types": (
        "Opportunity record types (sales processes)",
        ("RecordType", "BusinessProcess"),
        (),
        "the org has no record types: one pipeline of all stages",
    ),
    "currency_types": (
        "Multiple currencies",
        ("CurrencyType",),
        ("currencies",),
        "single-currency org: every amount is in the corporate currency",
    ),
    "dated_rates": (
        "Dated exchange rates (Advanced Currency Management)",
        ("DatedConversionRate",),
        ("fx_rates",),
        "Advanced Currency Management is off: today's rates apply",
    ),
    "lead_history": (
        "Lead field history",
        ("LeadHistory",),
        (),
        "field history tracking is off on Lead: MQL/SQL times are taken from the current "
        "status since creation",
    ),
}

_UNAVAILABLE_CODES = frozenset(
    {
        "INVALID_TYPE",
        "NOT_FOUND",
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_PRIVILEGES",
        "API_DISABLED_FOR_ORG",
        "FUNCTIONALITY_NOT_ENABLED",
        "INVALID_TYPE_FOR_OPERATION",
    }
)


def unavailable_reason(response: httpx.Response) -> str | None:
    """Why ``response`` means the org or user lacks what was asked, else None."""
    codes = client.error_codes(response)
    if "REQUEST_LIMIT_EXCEEDED" in codes:
        return None
    status = response.status_code
    found = [c for c in codes if c in _UNAVAILABLE_CODES]
    if status == 404 or (status in (400, 403) and found):
        code = found[0] if found else "NOT_FOUND"
        return f"not available to this user or org (HTTP {status} {code})"
    if status == 403:
        return f"not permitted for this user (HTTP {status} {codes[0] if codes else ''})".strip()
    return None


async def discover(http: HttpClient, ctx: StreamContext) -> Sequence[Capability]:
    """The org's optional objects (global describe) and Bulk API 2.0 (limits)."""
    api = run_state(ctx).api
    listing = await http.send(Request(path=api.data("/sobjects/")))
    names = _object_names(listing)
    found = []
    for key, (title, objects, streams, why) in OBJECT_CAPABILITIES.items():
        missing = [o for o in objects if o not in names]
        found.append(
            Capability(
                key,
                title,
                UNAVAILABLE if missing else AVAILABLE,
                f"{why} ({', '.join(missing)} not in the global describe)" if missing else None,
                streams=streams,
            )
        )
    found.append(_bulk(await http.send(Request(path=api.data("/limits")))))
    return found


def _object_names(listing: Any) -> set[str]:
    objects = listing.get("sobjects", []) if isinstance(listing, Mapping) else []
    return {
        str(o["name"])
        for o in objects
        if isinstance(o, Mapping) and o.get("name") and o.get("queryable", True) is not False
    }


def _bulk(limits: Any) -> Capability:
    """Bulk API 2.0 from ``DailyBulkV2QueryJobs``: a 0 allocation means none; no entry
    means the limits do not say (UNKNOWN: a job is tried, and a refusal means REST)."""
    title = "Bulk API 2.0 query jobs"
    entry = limits.get("DailyBulkV2QueryJobs") if isinstance(limits, Mapping) else None
    if not isinstance(entry, Mapping):
        return Capability("bulk_api", title, UNKNOWN, "not listed in /limits")
    if not entry.get("Max"):
        return Capability(
            "bulk_api", title, UNAVAILABLE, "no Bulk API 2.0 allocation: first loads use REST"
        )
    return Capability("bulk_api", title, AVAILABLE)
