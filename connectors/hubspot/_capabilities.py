"""What a HubSpot portal offers, and how HubSpot says that it does not.

Capabilities discovered (``HubSpotConnector.discover``, at ``connection add``,
``verifyCredentials``, ``connection check`` and every full sync):

- ``leads_object``: the Leads object (Sales Hub Pro and up) readable by this app. Without
  it the ``leads`` stream is SKIPPED and no read asks associations to leads. No KPI goes
  null: HubSpot contacts are leads too (lifecycle stages), so the lead KPIs are computed
  from them.
- ``multi_currency``: more than the company currency (exchange rates exist). Without it
  ``exchange_rates`` is SKIPPED and deals are in the company currency; nothing is lost.
- ``properties_api``: ``GET /crm/v3/properties/{type}`` (the portal's property list),
  used to tell an unknown custom property from an empty one.

HubSpot's "not on this account" answers (error body ``{status, message, correlationId,
category, errors?, context?}``, spec ``Error``): 403 ``MISSING_SCOPES`` (the app lacks a
scope; ``errors[].context.requiredGranularScopes`` names it), 404 ``OBJECT_NOT_FOUND``
for an object type the portal lacks, 400 naming an object type it cannot infer ("Unable
to infer object type from: leads") on object and v4 association paths. Which status goes
with which is not documented object by object, so every one of these is read as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from connectors.hubspot import settings
from core.sync import (
    Capability,
    CapabilityStatus,
    CapabilityUnavailable,
    HttpClient,
    Request,
    RequestFailed,
)

LEADS = "leads_object"
MULTI_CURRENCY = "multi_currency"
PROPERTIES = "properties_api"

TITLES = {
    LEADS: "Leads object",
    MULTI_CURRENCY: "Multi-currency",
    PROPERTIES: "Properties API",
}
STREAMS = {LEADS: ("leads",), MULTI_CURRENCY: ("exchange_rates",), PROPERTIES: ()}
#: KPIs that cannot be computed without a capability: none (see the module docstring).
KPIS: dict[str, tuple[str, ...]] = {LEADS: (), MULTI_CURRENCY: (), PROPERTIES: ()}


def _body(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _scopes(body: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    for error in body.get("errors") or ():
        context = error.get("context") if isinstance(error, dict) else None
        for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
            found = (context or {}).get(key) if isinstance(context, dict) else None
            scopes += [str(s) for s in found or ()]
    context = body.get("context")
    if isinstance(context, dict):
        scopes += [str(s) for s in context.get("missingScopes") or ()]
    return list(dict.fromkeys(scopes))


def unavailable_reason(response: httpx.Response) -> str | None:
    """Why this 4xx answer means "not on this portal or app", or None for other failures."""
    status = response.status_code
    body = _body(response)
    category = str(body.get("category") or "")
    message = str(body.get("message") or "")
    if status == 403:
        if category == "MISSING_SCOPES" or _scopes(body):
            scopes = _scopes(body)
            named = f": {', '.join(scopes)}" if scopes else ""
            return f"the app lacks the scope{named} (HTTP 403 MISSING_SCOPES)"
        return "not allowed for this app or plan (HTTP 403)"
    if status == 404:
        return "not available on this portal (HTTP 404)"
    if status == 400 and ("infer object type" in message or "object type" in message.lower()):
        return f"not available on this portal (HTTP 400: {message})"
    return None


def capability(key: str, status: CapabilityStatus, reason: str | None = None) -> Capability:
    return Capability(
        key=key,
        title=TITLES[key],
        status=status,
        reason=reason,
        streams=STREAMS[key],
        kpis=KPIS[key],
    )


async def _probe(http: HttpClient, key: str, request: Request) -> tuple[Capability, Any]:
    """Ask ``request`` for ``key``: available with the answer, or unavailable with why."""
    try:
        answer = await http.send(request)
    except CapabilityUnavailable as exc:
        return capability(key, CapabilityStatus.UNAVAILABLE, exc.reason), None
    return capability(key, CapabilityStatus.AVAILABLE), answer


async def discover(http: HttpClient) -> list[Capability]:
    """Leads, multi-currency and the properties API, one cheap read each."""
    leads, _ = await _probe(
        http,
        LEADS,
        Request("GET", f"{settings.OBJECTS_PATH}/leads", params={"limit": 1}, capability=LEADS),
    )
    properties, _ = await _probe(
        http,
        PROPERTIES,
        Request("GET", f"{settings.PROPERTIES_PATH}/deals", capability=PROPERTIES),
    )
    currency, rates = await _probe(
        http,
        MULTI_CURRENCY,
        Request(
            "GET", settings.EXCHANGE_RATES_PATH, params={"limit": 1}, capability=MULTI_CURRENCY
        ),
    )
    if currency.available and not (isinstance(rates, dict) and rates.get("results")):
        currency = capability(
            MULTI_CURRENCY,
            CapabilityStatus.UNAVAILABLE,
            "the portal has one currency (no exchange rates)",
        )
    return [leads, currency, properties]


async def leads_available(http: HttpClient) -> bool:
    """Whether the portal has a Leads object this app may read (one cheap read)."""
    probe = Request(
        "GET",
        f"{settings.OBJECTS_PATH}/leads",
        params={"limit": 1},
        capability=LEADS,
    )
    try:
        await http.send(probe)
    except CapabilityUnavailable:  # classified by HubSpotConnector.unavailable_reason
        return False
    return True


async def company_currency(http: HttpClient) -> str | None:
    """The portal's currency (``id`` in the multicurrency spec; ``currencyCode`` read too),
    or None when the app may not read the currency settings."""
    try:
        answer = await http.send(Request("GET", settings.COMPANY_CURRENCY_PATH))
    except RequestFailed as exc:
        if exc.status not in (403, 404):
            raise
        return None
    if not isinstance(answer, Mapping):
        return None
    code = answer.get("currencyCode") or answer.get("id")
    return str(code).upper() if code else None
