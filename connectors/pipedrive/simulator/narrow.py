"""The v2 list parameters that narrow an answer, honoured as the API reference documents
them (client-nodejs ``src/versions/v2/api/*-api.ts``): ``ids`` (at most 100), the
``owner_id`` / ``pipeline_id`` / ``stage_id`` / ``person_id`` / ``org_id`` / ``deal_id`` /
``lead_id`` / ``done`` filters of each list, deal ``status`` (any of open, won, lost,
deleted) and ``include_fields`` (values checked against each list's documented set; deal
``source_lead_id`` is only in the answer when asked for).

Records are pre-rendered JSON bytes; only narrowed requests decode them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.pipedrive.simulator.errors import ApiError

#: Filters each v2 list takes (query parameter -> item key).
FILTERS: dict[str, dict[str, str]] = {
    "deals": {
        "owner_id": "owner_id",
        "person_id": "person_id",
        "org_id": "org_id",
        "pipeline_id": "pipeline_id",
        "stage_id": "stage_id",
    },
    "persons": {"owner_id": "owner_id", "org_id": "org_id"},
    "organizations": {"owner_id": "owner_id"},
    "activities": {
        "owner_id": "owner_id",
        "deal_id": "deal_id",
        "lead_id": "lead_id",
        "person_id": "person_id",
        "org_id": "org_id",
        "done": "done",
    },
    "pipelines": {},
    "stages": {"pipeline_id": "pipeline_id"},
}

_DEAL_INCLUDES = frozenset(
    [
        "next_activity_id",
        "last_activity_id",
        "first_won_time",
        "products_count",
        "files_count",
        "notes_count",
        "followers_count",
        "email_messages_count",
        "activities_count",
        "done_activities_count",
        "undone_activities_count",
        "participants_count",
        "last_incoming_mail_time",
        "last_outgoing_mail_time",
        "smart_bcc_email",
        "source_lead_id",
    ]
)
_PARTY_INCLUDES = frozenset(
    [
        "next_activity_id",
        "last_activity_id",
        "open_deals_count",
        "related_open_deals_count",
        "closed_deals_count",
        "related_closed_deals_count",
        "email_messages_count",
        "activities_count",
        "done_activities_count",
        "undone_activities_count",
        "files_count",
        "notes_count",
        "followers_count",
        "won_deals_count",
        "related_won_deals_count",
        "lost_deals_count",
        "related_lost_deals_count",
        "smart_bcc_email",
        "people_count",
        "participant_open_deals_count",
        "participant_closed_deals_count",
        "last_incoming_mail_time",
        "last_outgoing_mail_time",
        "marketing_status",
        "doi_status",
    ]
)
#: Documented ``include_fields`` values of each list.
INCLUDES: dict[str, frozenset[str]] = {
    "deals": _DEAL_INCLUDES,
    "persons": _PARTY_INCLUDES,
    "organizations": _PARTY_INCLUDES,
    "activities": frozenset({"attendees"}),
    "pipelines": frozenset(),
    "stages": frozenset(),
}
DEAL_STATUSES = frozenset({"open", "won", "lost", "deleted"})
NOT_DELETED = frozenset({"open", "won", "lost"})
MAX_IDS = 100

#: ``items`` values of ``/v1/recents`` (RecentsApi.getRecents).
RECENT_ITEMS = frozenset(
    [
        "activity",
        "activityType",
        "deal",
        "file",
        "filter",
        "note",
        "person",
        "organization",
        "pipeline",
        "product",
        "stage",
        "user",
    ]
)


def includes(kind: str, q: Mapping[str, str]) -> frozenset[str]:
    """The ``include_fields`` asked for; 400 for a value the list does not document."""
    asked = frozenset(v.strip() for v in q.get("include_fields", "").split(",") if v.strip())
    unknown = asked - INCLUDES[kind]
    if unknown:
        raise ApiError(400, f"Invalid include_fields value: {', '.join(sorted(unknown))}")
    return asked


def statuses(q: Mapping[str, str]) -> frozenset[str]:
    """Deal ``status``: omitted, every not deleted deal; ``deleted`` adds those deleted
    within 30 days (the simulator keeps every deletion within them)."""
    raw = q.get("status")
    if raw is None:
        return NOT_DELETED
    asked = frozenset(v.strip() for v in raw.split(",") if v.strip())
    if not asked or asked - DEAL_STATUSES:
        raise ApiError(400, f"Invalid status: {raw}")
    return asked


def narrowing(kind: str, q: Mapping[str, str]) -> dict[str, str]:
    """The filters of ``q`` that apply to ``kind`` (ids included)."""
    wanted = {p: q[p] for p in FILTERS[kind] if p in q}
    if "ids" in q:
        wanted["ids"] = q["ids"]
    return wanted


def _matches(item: Mapping[str, Any], key: str, value: str) -> bool:
    have = item.get(key)
    if isinstance(have, bool):
        return have == (value.lower() in ("1", "true"))
    return have is not None and str(have) == value


def narrow(
    kind: str, items: Sequence[bytes], filters: Mapping[str, str], deal_status: frozenset[str]
) -> list[bytes]:
    """``items`` that pass every filter (and, for deals, the asked statuses)."""
    ids: set[str] | None = None
    if "ids" in filters:
        ids = {v.strip() for v in filters["ids"].split(",") if v.strip()}
        if len(ids) > MAX_IDS:
            raise ApiError(400, f"ids: at most {MAX_IDS} ids are allowed")
    plain = {FILTERS[kind][p]: v for p, v in filters.items() if p != "ids"}
    kept = []
    for raw in items:
        item = json.loads(raw)
        if ids is not None and str(item.get("id")) not in ids:
            continue
        if not all(_matches(item, key, value) for key, value in plain.items()):
            continue
        if kind == "deals" and not item.get("is_deleted") and item.get("status") not in deal_status:
            continue
        kept.append(raw)
    return kept


def without(items: Sequence[bytes], key: str) -> list[bytes]:
    """``items`` with ``key`` dropped (a field only sent when ``include_fields`` asks)."""
    out = []
    for raw in items:
        item = json.loads(raw)
        item.pop(key, None)
        out.append(json.dumps(item, separators=(",", ":")).encode())
    return out


def without_source_lead(items: Sequence[bytes]) -> list[bytes]:
    """Deals as listed without ``include_fields=source_lead_id``."""
    return without(items, "source_lead_id")
