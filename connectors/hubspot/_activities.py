"""Engagements (calls, emails, meetings, notes, tasks) as activities."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot import values as v
from connectors.hubspot._common import common, custom_values, first_ids, object_parts
from core.sync.connector import MappingError
from core.sync.records import ActivityRecord, builder

_EMAIL_DIRECTIONS = {
    "EMAIL": "OUTBOUND",
    "FORWARDED_EMAIL": "OUTBOUND",
    "INCOMING_EMAIL": "INBOUND",
}
_MEETING_STATUSES = {
    "SCHEDULED": "ACCEPTED",
    "RESCHEDULED": "ACCEPTED",
    "COMPLETED": "HELD",
    "NO_SHOW": "NO_SHOW",
    "CANCELED": "CANCELLED",
}
#: Meetings with these outcomes did not take place (yet): they are not done.
_MEETING_NOT_DONE = ("SCHEDULED", "RESCHEDULED", "NO_SHOW", "CANCELED")
#: Calls in these states have not happened yet.
_CALL_NOT_DONE = ("QUEUED", "RINGING", "CONNECTING", "CALLING_CRM_USER", "IN_PROGRESS")
_EMAIL_NOT_DONE = ("SCHEDULED", "SENDING")
#: The associations an engagement links to, in the order map_engagement reads them.
_LINKED = ("deals", "contacts", "companies", "leads")
#: HTML tags of a note's body (compiled once: ``re.sub`` looks its cache up per call).
_TAGS = re.compile(r"<[^>]+>")


def _activity_done(
    kind: str, props: Mapping[str, Any], when: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """(due_at, done_at) of an engagement; ``when`` is its ``hs_timestamp``.

    A note's ``hs_timestamp`` is when it was written (its place on the timeline): a note is
    done then and never due, as Salesforce and Pipedrive notes are."""
    if kind == "NOTE":
        return None, when
    if kind == "TASK":
        status = (v.text(props, "hs_task_status") or "").upper()
        done = v.timestamp(props, "hs_task_completion_date") or v.timestamp(
            props, "hs_lastmodifieddate"
        )
        return when, done if status == "COMPLETED" else None
    if kind == "CALL":
        pending = (v.text(props, "hs_call_status") or "").upper() in _CALL_NOT_DONE
    elif kind == "MEETING":
        pending = (v.text(props, "hs_meeting_outcome") or "").upper() in _MEETING_NOT_DONE
        when = v.timestamp(props, "hs_meeting_start_time") or when
    else:
        pending = (v.text(props, "hs_email_status") or "").upper() in _EMAIL_NOT_DONE
    return when, None if pending else when


def _note_subject(props: Mapping[str, Any]) -> str | None:
    body = v.text(props, "hs_note_body")
    if body is None:
        return None
    plain = " ".join(_TAGS.sub(" ", body).split())
    return plain[:200] or None


def map_engagement(
    object_name: str, raw: Mapping[str, Any], custom: Sequence[str] = ()
) -> ActivityRecord:
    """A call, email, meeting, note or task with its owner, links, times and outcome."""
    kind = settings.ACTIVITY_TYPES.get(object_name)
    if kind is None:
        raise MappingError(f"{object_name!r} is not an engagement object")
    remote_id, props = object_parts(raw)
    due_at, done_at = _activity_done(kind, props, v.timestamp(props, "hs_timestamp"))
    outcome = direction = meeting_status = None
    if kind == "CALL":
        subject = v.text(props, "hs_call_title")
        disposition = v.text(props, "hs_call_disposition")
        outcome = settings.CALL_DISPOSITIONS.get(disposition or "", disposition)
        direction = (v.text(props, "hs_call_direction") or "").upper() or None
    elif kind == "EMAIL":
        subject = v.text(props, "hs_email_subject")
        raw_direction = (v.text(props, "hs_email_direction") or "").upper()
        direction = _EMAIL_DIRECTIONS.get(raw_direction)
    elif kind == "MEETING":
        subject = v.text(props, "hs_meeting_title")
        outcome = (v.text(props, "hs_meeting_outcome") or "").upper() or None
        meeting_status = _MEETING_STATUSES.get(outcome or "")
    elif kind == "NOTE":
        subject = _note_subject(props)
    else:
        subject = v.text(props, "hs_task_subject")
    owner = v.text(props, "hubspot_owner_id")
    deal, contact, account, lead = first_ids(raw, _LINKED)
    created, updated, deleted, remote_data = common(raw, props, settings.ENGAGEMENTS[0])
    return _new_activity(
        remote_id=remote_id,
        type=kind,
        subject=subject,
        owner_remote_id=owner,
        deal_remote_id=deal,
        contact_remote_id=contact,
        account_remote_id=account,
        lead_remote_id=lead,
        due_at=due_at,
        done_at=done_at,
        outcome=outcome,
        direction=direction if direction in ("INBOUND", "OUTBOUND") else None,
        meeting_status=meeting_status,
        custom=custom_values(props, custom),
        remote_created_at=created,
        remote_updated_at=updated,
        deleted=deleted,
        remote_data=remote_data,
    )


_new_activity = builder(ActivityRecord)
