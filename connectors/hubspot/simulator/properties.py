"""Which properties an object read returns, and the properties API that lists them.

HubSpot returns the requested properties (those the portal defines; unknown names are
left out, known ones without a value come back as ``null``) plus ``hs_object_id`` and the
object's created and last-modified properties; without ``properties``, a small default
set. ``GET /crm/v3/properties/{objectType}`` lists the portal's properties of a type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from connectors.hubspot import settings

#: Always in an answer, whatever ``properties`` asks (those the object type has).
ALWAYS = ("hs_object_id", "createdate", "hs_createdate", "hs_lastmodifieddate", "lastmodifieddate")
#: What a read without ``properties`` returns (a subset of HubSpot's defaults).
DEFAULTS: dict[str, tuple[str, ...]] = {
    "companies": ("name", "domain"),
    "contacts": ("firstname", "lastname", "email"),
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
    "leads": ("hs_lead_name",),
    "calls": ("hs_timestamp",),
    "emails": ("hs_timestamp",),
    "meetings": ("hs_timestamp",),
    "notes": ("hs_timestamp",),
    "tasks": ("hs_timestamp",),
}
#: Properties every portal defines for a type, whether or not a record has a value.
_DEFINED: dict[str, tuple[str, ...]] = {
    "companies": (settings.MERGED_PROPERTY,),
    "contacts": (settings.MERGED_PROPERTY,),
    "deals": (settings.MERGED_PROPERTY,),
}


def requested(raw: str | Sequence[str] | None) -> tuple[str, ...] | None:
    """Property names of a ``properties`` parameter (comma-separated or repeated)."""
    if raw is None:
        return None
    items = [raw] if isinstance(raw, str) else list(raw)
    names = [n.strip() for item in items for n in str(item).split(",") if n.strip()]
    return tuple(dict.fromkeys(names))


def defined(object_type: str, bodies: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """The properties the portal defines for ``object_type``: every name a record has."""
    names = set(_DEFINED.get(object_type, ()))
    for body in bodies:
        names.update(body.get("properties") or {})
    return frozenset(names)


def narrow(
    object_type: str,
    properties: Mapping[str, Any],
    wanted: tuple[str, ...] | None,
    known: frozenset[str],
) -> dict[str, Any]:
    """The properties block of one object for a read asking ``wanted``."""
    names = DEFAULTS.get(object_type, ()) if wanted is None else wanted
    out = {n: properties.get(n) for n in names if n in known}
    for name in ALWAYS:
        if name in properties:
            out[name] = properties[name]
    return out


def describe(object_type: str, known: frozenset[str]) -> list[dict[str, Any]]:
    """``GET /crm/v3/properties/{objectType}`` results: one Property per defined name."""
    return [_property(object_type, name) for name in sorted(known)]


def _property(object_type: str, name: str) -> dict[str, Any]:
    kind, field = _type_of(name)
    return {
        "name": name,
        "label": name.replace("_", " ").capitalize(),
        "type": kind,
        "fieldType": field,
        "groupName": f"{settings.SINGULAR.get(object_type, object_type)}information",
        "description": "",
        "options": [],
        "displayOrder": -1,
        "calculated": name.startswith(("hs_date_entered_", "hs_date_exited_")),
        "externalOptions": False,
        "hasUniqueValue": name == "hs_object_id",
        "hidden": False,
        "hubspotDefined": name != "deal_cost",
        "formField": False,
        "archived": False,
    }


def _type_of(name: str) -> tuple[str, str]:
    if name.endswith(("date", "_date", "_time", "timestamp")) or "_date_" in name:
        return "datetime", "date"
    if name in ("amount", "hs_mrr", "deal_cost", "hs_deal_stage_probability", "hs_call_duration"):
        return "number", "number"
    if name in ("hs_is_closed", "hs_is_closed_won"):
        return "bool", "booleancheckbox"
    if name in ("dealstage", "pipeline", "lifecyclestage", "dealtype", "industry"):
        return "enumeration", "select"
    return "string", "text"
