"""Mapping of activities and notes (notes share the activities table)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, time
from typing import Any

from connectors.pipedrive.settings import ACTIVITY_TYPES
from connectors.pipedrive.values import (
    foreign_id,
    parse_date,
    parse_time,
    remote_id_of,
)
from core.sync.connector import MappingError
from core.sync.records import (
    ActivityRecord,
    builder,
)

_TAGS = re.compile(r"<[^>]+>")


def note_id(note: Any) -> str:
    """Notes share the activities table with activities: their ids get a prefix."""
    return f"note:{note}"


def _due_at(raw: Mapping[str, Any]) -> datetime | None:
    day = parse_date(raw.get("due_date"), "activity.due_date")
    if day is None:
        return None
    due_time = raw.get("due_time")
    if not due_time:
        return datetime.combine(day, time(), UTC)
    try:
        hours, minutes = (int(part) for part in str(due_time).split(":")[:2])
    except ValueError as exc:
        raise MappingError(f"activity.due_time: unparseable {due_time!r}") from exc
    return datetime.combine(day, time(hours, minutes), UTC)


#: Words of an activity type's key or name that say how a meeting went: Pipedrive has no
#: meeting outcome, so companies record one as an activity type of their own (e.g. "No
#: show", icon "meeting"), which wins over ``done``.
_MEETING_OUTCOME_WORDS = (("noshow", "NO_SHOW"), ("cancel", "CANCELLED"), ("declin", "DECLINED"))
#: Attendee ``status`` values (calendar invitation answers) that accept or decline.
_ACCEPTED, _DECLINED = ("accepted", "yes"), ("declined", "no")


def _squash(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _outcome_of_type(key: str, name: str) -> str | None:
    label = _squash(f"{key} {name}")
    return next((status for word, status in _MEETING_OUTCOME_WORDS if word in label), None)


def meeting_status(raw: Mapping[str, Any], outcome: str | None) -> str:
    """A meeting's status from what the v2 Activity model holds (``done``, ``attendees[]``
    with each one's ``status`` and ``is_organizer``), after the outcome its type names.

    Done: HELD. Not done: the invitees' answers when there are some (one accepted:
    ACCEPTED; all declined: DECLINED; none answered yet: PROPOSED); without invitees the
    meeting is on the calendar, booked: ACCEPTED, as HubSpot's SCHEDULED meetings are.
    """
    if outcome is not None:
        return outcome
    if raw.get("done"):
        return "HELD"
    attendees = [a for a in raw.get("attendees") or () if isinstance(a, Mapping)]
    answers = [str(a.get("status") or "").lower() for a in attendees if not a.get("is_organizer")]
    if not answers:
        return "ACCEPTED"
    if any(answer in _ACCEPTED for answer in answers):
        return "ACCEPTED"
    if all(answer in _DECLINED for answer in answers):
        return "DECLINED"
    return "PROPOSED"


def map_activity(
    raw: Mapping[str, Any],
    type_icons: Mapping[str, str],
    type_names: Mapping[str, str] | None = None,
) -> ActivityRecord:
    """``GET /api/v2/activities`` item. ``type`` is the activity type key; company-defined
    keys map through their icon (``type_icons``: key -> icon key), else TASK, unless
    their key or name (``type_names``: key -> name) says how a meeting went: then they are
    a MEETING with that outcome, not done (see :func:`meeting_status`)."""
    remote_id = remote_id_of(raw, "activity")
    key = str(raw.get("type") or "")
    kind = ACTIVITY_TYPES.get(key) or ACTIVITY_TYPES.get(type_icons.get(key, ""), "TASK")
    outcome = None
    if key not in ACTIVITY_TYPES:
        outcome = _outcome_of_type(key, (type_names or {}).get(key, ""))
        kind = "MEETING" if outcome is not None else kind
    due_at = _due_at(raw)
    done_at = None
    if raw.get("done") and outcome is None:
        done_at = parse_time(raw.get("marked_as_done_time"), "activity.marked_as_done_time")
        done_at = done_at or due_at or parse_time(raw.get("update_time"))
    return _new_activity(
        remote_id=remote_id,
        remote_created_at=parse_time(raw.get("add_time"), "activity.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "activity.update_time"),
        type=kind,
        subject=raw.get("subject"),
        owner_remote_id=foreign_id(raw.get("owner_id", raw.get("user_id"))),
        deal_remote_id=foreign_id(raw.get("deal_id")),
        contact_remote_id=foreign_id(raw.get("person_id")),
        account_remote_id=foreign_id(raw.get("org_id")),
        lead_remote_id=foreign_id(raw.get("lead_id")),
        due_at=due_at,
        done_at=done_at,
        meeting_status=meeting_status(raw, outcome) if kind == "MEETING" else None,
        deleted=bool(raw.get("is_deleted")),
        custom={"type_key": key} if key and key not in ACTIVITY_TYPES else None,
        remote_data=dict(raw),
    )


def map_note(raw: Mapping[str, Any]) -> ActivityRecord:
    """``GET /api/v1/notes`` item: a NOTE done when written. ``content`` is HTML."""
    remote_id = note_id(remote_id_of(raw, "note"))
    created = parse_time(raw.get("add_time"), "note.add_time")
    content = str(raw.get("content") or "")
    return _new_activity(
        remote_id=remote_id,
        remote_created_at=created,
        remote_updated_at=parse_time(raw.get("update_time"), "note.update_time"),
        type="NOTE",
        subject=_TAGS.sub("", content)[:500] or None,
        owner_remote_id=foreign_id(raw.get("user_id")),
        deal_remote_id=foreign_id(raw.get("deal_id")),
        contact_remote_id=foreign_id(raw.get("person_id")),
        account_remote_id=foreign_id(raw.get("org_id")),
        lead_remote_id=foreign_id(raw.get("lead_id")),
        done_at=created,
        deleted=raw.get("active_flag") is False,
        remote_data=dict(raw),
    )


_new_activity = builder(ActivityRecord)
