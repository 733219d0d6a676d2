"""What every HubSpot mapping shares: object shape checks, bookkeeping columns, links."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot import values as v
from core.sync.connector import MappingError

SOURCE_LABELS = {
    "ORGANIC_SEARCH": "Organic Search",
    "PAID_SEARCH": "Paid Search",
    "EMAIL_MARKETING": "Email Marketing",
    "SOCIAL_MEDIA": "Organic Social",
    "REFERRALS": "Referrals",
    "OTHER_CAMPAIGNS": "Other Campaigns",
    "DIRECT_TRAFFIC": "Direct Traffic",
    "OFFLINE": "Offline Sources",
    "PAID_SOCIAL": "Paid Social",
    "AI_REFERRALS": "AI Referrals",
}


def object_parts(raw: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]]:
    # ``dict`` first: decoded pages hold dicts, and the ABC check costs several times more.
    if not isinstance(raw, dict) and not isinstance(raw, Mapping):
        raise MappingError(f"expected an object, got {type(raw).__name__}")
    remote_id = v.identifier(raw.get("id"))
    if remote_id is None:
        raise MappingError("missing id")
    props = raw.get("properties")
    if props is None:
        props = {}
    if not isinstance(props, dict) and not isinstance(props, Mapping):
        raise MappingError("properties is not an object")
    return remote_id, props


def common(
    raw: Mapping[str, Any], props: Mapping[str, Any], obj: settings.ObjectType
) -> tuple[datetime | None, datetime | None, bool, dict[str, Any]]:
    """(remote_created_at, remote_updated_at, deleted, remote_data) of an object: a tuple
    the mapper passes on as keywords (a dict splatted into the record cost more).

    ``remote_data`` is the raw object itself when it is a dict: a decoded page's objects
    are this read's alone and nothing changes them once mapped (the follow-up reads
    complete them before), so a copy per record was only allocated and freed again."""
    created = v.timestamp(props, obj.created_property) or top_level_time(raw, "createdAt")
    updated = v.timestamp(props, obj.modified_property) or top_level_time(raw, "updatedAt")
    return created, updated, bool(raw.get("archived")), raw if type(raw) is dict else dict(raw)


def top_level_time(raw: Mapping[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    return None if value in (None, "") else v.parse_datetime(str(value), key)


def custom_values(props: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any] | None:
    """The requested custom properties present on the object, as HubSpot sent them.
    (Most connections map none: then no comprehension is run per record.)"""
    if not names:
        return None
    found = {name: props[name] for name in names if name in props}
    return found or None


def associated_ids(raw: Mapping[str, Any], to_type: str) -> list[str]:
    """Ids associated with ``raw`` in ``to_type``, the primary association first.

    v3 reads list ``{"results": [{"id", "type"}]}`` per type; the unlabeled
    ``deal_to_company_unlabeled`` sits next to the primary ``deal_to_company``.
    """
    block = (raw.get("associations") or {}).get(to_type)
    if not isinstance(block, Mapping):
        return []
    primary: list[str] = []
    others: list[str] = []
    for item in block.get("results") or ():
        if not isinstance(item, Mapping) or item.get("id") in (None, ""):
            continue
        target = others if str(item.get("type", "")).endswith("_unlabeled") else primary
        remote_id = str(item["id"])
        if remote_id not in primary and remote_id not in others:
            target.append(remote_id)
    return primary + others


def first_id(raw: Mapping[str, Any], to_type: str) -> str | None:
    """``associated_ids(raw, to_type)[0]`` without building the list: the first primary
    (labelled) id, else the first unlabeled one."""
    associations = raw.get("associations")
    return _first_of(associations.get(to_type)) if associations else None


def first_ids(raw: Mapping[str, Any], to_types: tuple[str, ...]) -> list[str | None]:
    """``[first_id(raw, t) for t in to_types]``, the associations looked up once: a mapper
    reads three or four types per record."""
    associations = raw.get("associations")
    if not associations:
        return [None] * len(to_types)
    block_of = associations.get
    return [_first_of(block_of(to_type)) for to_type in to_types]


def _first_of(block: Any) -> str | None:
    """The first primary id of one association block, else its first unlabeled one. Read
    three or four times per record, so the usual block, whose first item is a labelled
    association with a string id, is answered before any loop."""
    if not block:
        return None
    if type(block) is dict:
        results = block.get("results")
        if type(results) is list and results:
            item = results[0]
            if type(item) is dict:
                remote_id = item.get("id")
                kind = item.get("type")
                labelled = type(kind) is str and not kind.endswith("_unlabeled")
                if labelled and type(remote_id) is str and remote_id:
                    return remote_id
    elif not isinstance(block, Mapping):
        return None
    unlabeled: str | None = None
    for item in block.get("results") or ():
        if not isinstance(item, dict) and not isinstance(item, Mapping):
            continue
        remote_id = item.get("id")
        if remote_id is None or remote_id == "":
            continue
        if not str(item.get("type", "")).endswith("_unlabeled"):
            return str(remote_id)
        if unlabeled is None:
            unlabeled = str(remote_id)
    return unlabeled


def source_label(props: Mapping[str, Any], name: str = "hs_analytics_source") -> str | None:
    value = v.text(props, name)
    return None if value is None else SOURCE_LABELS.get(value.upper(), value)
