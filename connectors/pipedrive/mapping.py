"""Pure functions: Pipedrive JSON -> ``core.sync.records`` records.

Facts they rely on (Pipedrive API reference, v1 and v2 models):

- v2 timestamps are RFC 3339 (``2024-05-01T10:00:00Z``); v1 ones are ``YYYY-MM-DD HH:MM:SS``
  in UTC without a zone. Both become aware UTC datetimes here.
- won / lost is the deal ``status``, independent of the stage: a won deal stays in its last
  stage, so Pipedrive stages are never closed and the deal carries ``won_time``/``lost_time``.
- custom fields are 40-hex-character keys (v2: under ``custom_fields``; v1: top level),
  named by :class:`~connectors.pipedrive.custom_fields.FieldCatalog`.

Every function raises :class:`~core.sync.connector.MappingError` with a precise reason when a
record cannot be mapped; the engine quarantines it and goes on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

__all__ = [
    "foreign_id",
    "map_activity",
    "map_currency",
    "map_deal",
    "map_lead",
    "map_note",
    "map_organization",
    "map_person",
    "map_pipeline",
    "map_stage",
    "map_stage_history",
    "map_team",
    "map_user",
    "note_id",
    "parse_date",
    "parse_money",
    "parse_time",
    "team_members",
]

from connectors.pipedrive._values import (
    foreign_id,
    parse_date,
    parse_money,
    parse_time,
    remote_id_of,
)
from connectors.pipedrive.custom_fields import FieldCatalog, picks
from connectors.pipedrive.settings import ACTIVITY_TYPES, DEAL_TYPE_LABELS
from core.sync.connector import MappingError
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    ContactRecord,
    CurrencyRecord,
    DealRecord,
    DealStageHistoryRecord,
    LeadRecord,
    PipelineRecord,
    Record,
    StageRecord,
    TeamRecord,
    UserRecord,
    stage_history_id,
)

_DEAL_STATUSES = {"open": "OPEN", "won": "WON", "lost": "LOST"}
_TAGS = re.compile(r"<[^>]+>")


def _custom(decoded: dict[str, Any], labels: list[str] | None = None) -> dict[str, Any] | None:
    """Named custom values, plus the label names under ``labels``."""
    out = dict(decoded)
    if labels:
        out["labels"] = labels
    return out or None


def _labels(catalog: FieldCatalog, field_key: str, ids: Any) -> list[str]:
    names = []
    for label_id in ids or ():
        name = catalog.option_label(field_key, label_id)
        names.append(name if name is not None else str(label_id))
    return names


# --- users, teams, pipelines, stages ---------------------------------------------------


def map_user(raw: Mapping[str, Any], team_of_user: Mapping[str, str]) -> UserRecord:
    """``GET /api/v1/users`` item; the team comes from the teams read earlier in the run."""
    remote_id = remote_id_of(raw, "user")
    return UserRecord(
        remote_id=remote_id,
        remote_created_at=parse_time(raw.get("created"), "user.created"),
        remote_updated_at=parse_time(raw.get("modified"), "user.modified"),
        name=raw.get("name"),
        email=raw.get("email"),
        team_remote_id=team_of_user.get(remote_id),
        active=bool(raw.get("active_flag", True)) and not raw.get("is_deleted", False),
        remote_data=dict(raw),
    )


def map_team(raw: Mapping[str, Any]) -> TeamRecord:
    """``GET /api/v1/legacyTeams`` item."""
    return TeamRecord(
        remote_id=remote_id_of(raw, "team"),
        remote_created_at=parse_time(raw.get("add_time"), "team.add_time"),
        name=raw.get("name"),
        deleted=bool(raw.get("deleted_flag")) or raw.get("active_flag") is False,
        remote_data=dict(raw),
    )


def team_members(teams: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """user id -> team id (a user in several teams keeps the first active one)."""
    members: dict[str, str] = {}
    for team in teams:
        if team.get("deleted_flag") or team.get("active_flag") is False:
            continue
        for user_id in team.get("users") or ():
            members.setdefault(str(user_id), str(team["id"]))
    return members


def map_pipeline(raw: Mapping[str, Any]) -> PipelineRecord:
    """``GET /api/v2/pipelines`` item."""
    return PipelineRecord(
        remote_id=remote_id_of(raw, "pipeline"),
        remote_created_at=parse_time(raw.get("add_time"), "pipeline.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "pipeline.update_time"),
        name=raw.get("name"),
        display_order=int(raw.get("order_nr") or 0),
        deleted=bool(raw.get("is_deleted")),
        remote_data=dict(raw),
    )


def map_stage(raw: Mapping[str, Any]) -> StageRecord:
    """``GET /api/v2/stages`` item. Pipedrive stages carry no kind and are never won/lost
    (the deal status is), so ``kind`` stays None: the engine applies the connection's
    ``stage_kinds`` mapping or guesses it from the name and probability. Rotting settings
    go to ``custom``."""
    remote_id = remote_id_of(raw, "stage")
    probability = raw.get("deal_probability")
    rotten = raw.get("days_to_rotten") if raw.get("is_deal_rot_enabled") else None
    return StageRecord(
        remote_id=remote_id,
        remote_created_at=parse_time(raw.get("add_time"), "stage.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "stage.update_time"),
        pipeline_remote_id=foreign_id(raw.get("pipeline_id")),
        name=raw.get("name"),
        display_order=int(raw.get("order_nr") or 0),
        probability=None if probability is None else float(probability) / 100,
        deleted=bool(raw.get("is_deleted")),
        custom={"rotten_days": rotten} if rotten is not None else None,
        remote_data=dict(raw),
    )


def map_currency(raw: Mapping[str, Any]) -> CurrencyRecord:
    """``GET /api/v1/currencies`` item. The code is the id deals reference (their
    ``currency``), so it is the remote id; Pipedrive's numeric id stays in ``remote_data``."""
    code = str(raw.get("code") or "").strip().upper()
    if not code:
        raise MappingError(f"currency {raw.get('id')!r} without a code")
    decimals = raw.get("decimal_points")
    return CurrencyRecord(
        remote_id=code,
        code=code,
        name=raw.get("name"),
        decimals=None if decimals is None else int(decimals),
        symbol=raw.get("symbol"),
        active=raw.get("active_flag") is not False,
        is_custom=bool(raw.get("is_custom_flag")),
        remote_data=dict(raw),
    )


# --- organizations and persons ---------------------------------------------------------


def map_organization(raw: Mapping[str, Any], catalog: FieldCatalog) -> AccountRecord:
    """``GET /api/v2/organizations`` item; address parts give country and region."""
    decoded = catalog.decode(raw.get("custom_fields"))
    address: Mapping[str, Any] = raw.get("address") or {}
    if not isinstance(address, Mapping):
        address = {}
    attributes = picks(decoded, "organization")
    industry, source = attributes.get("industry"), attributes.get("source")
    return AccountRecord(
        remote_id=remote_id_of(raw, "organization"),
        remote_created_at=parse_time(raw.get("add_time"), "organization.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "organization.update_time"),
        name=raw.get("name"),
        country=address.get("country") or None,
        region=address.get("admin_area_level_1") or None,
        industry=None if industry is None else str(industry),
        owner_remote_id=foreign_id(raw.get("owner_id")),
        source=None if source is None else str(source),
        deleted=bool(raw.get("is_deleted")),
        custom=_custom(decoded),
        remote_data=dict(raw),
    )


def _primary_email(emails: Any) -> str | None:
    if isinstance(emails, str):
        return emails or None
    entries = [e for e in emails or () if isinstance(e, Mapping) and e.get("value")]
    primary = next((e for e in entries if e.get("primary")), entries[0] if entries else None)
    return None if primary is None else str(primary["value"])


def map_person(raw: Mapping[str, Any], catalog: FieldCatalog) -> ContactRecord:
    """``GET /api/v2/persons`` item. Pipedrive has no lifecycle of its own: companies keep
    it in custom fields, read by their usual names ("Lifecycle stage", "MQL date", ...);
    date fields hold days, taken as midnight UTC."""
    decoded = catalog.decode(raw.get("custom_fields"))
    name = raw.get("name") or " ".join(
        p for p in (raw.get("first_name"), raw.get("last_name")) if p
    )
    attributes = picks(decoded, "person")
    source, stage = attributes.get("source"), attributes.get("lifecycle_stage")
    return ContactRecord(
        remote_id=remote_id_of(raw, "person"),
        remote_created_at=parse_time(raw.get("add_time"), "person.add_time"),
        remote_updated_at=parse_time(raw.get("update_time"), "person.update_time"),
        name=name or None,
        email=_primary_email(raw.get("emails", raw.get("email"))),
        account_remote_id=foreign_id(raw.get("org_id")),
        owner_remote_id=foreign_id(raw.get("owner_id")),
        source=None if source is None else str(source),
        lifecycle_stage=None if stage is None else str(stage),
        lead_at=_day_start(attributes.get("lead_at"), "person lead date"),
        mql_at=_day_start(attributes.get("mql_at"), "person MQL date"),
        sql_at=_day_start(attributes.get("sql_at"), "person SQL date"),
        customer_at=_day_start(attributes.get("customer_at"), "person customer date"),
        deleted=bool(raw.get("is_deleted")),
        custom=_custom(decoded),
        remote_data=dict(raw),
    )


def _day_start(value: Any, what: str) -> datetime | None:
    """A date (or timestamp) custom field as an aware UTC instant."""
    if value is None or value == "":
        return None
    text = str(value)
    if len(text) == 10:
        day = parse_date(text, what)
        return None if day is None else datetime.combine(day, time(), UTC)
    return parse_time(text, what)


# --- leads ---------------------------------------------------------------------------


def map_lead(
    raw: Mapping[str, Any],
    deal_fields: FieldCatalog,
    lead_labels: Mapping[str, str],
    conversions: Mapping[str, tuple[str, datetime | None, str | None]],
    lifecycle_kind: Callable[[str], str | None] = lambda label: None,
) -> LeadRecord:
    """``GET /api/v1/leads`` item (leads share the deal fields). ``conversions`` maps a
    lead id to (deal id, deal add time, deal organization) for deals whose
    ``source_lead_id`` is that lead. The source is the marketing channel when set, else
    the lead's ``source_name`` (how it was created).

    MQL / SQL come from the lead's labels through the connection's lifecycle mapping
    (``lifecycle_kind``: label -> lead | mql | sql | customer). Pipedrive keeps no label
    history, so a labelled lead counts as qualified from its creation."""
    remote_id = remote_id_of(raw, "lead")
    decoded = deal_fields.custom_of_v1(raw)
    labels = [lead_labels.get(str(i), str(i)) for i in raw.get("label_ids") or ()]
    source = (
        picks(decoded, "deal").get("source")
        or deal_fields.option_label("channel", raw.get("channel"))
        or raw.get("source_name")
    )
    converted = conversions.get(remote_id)
    status = "Converted" if converted else ("Archived" if raw.get("is_archived") else "Open")
    value = raw.get("value") if isinstance(raw.get("value"), Mapping) else None
    custom = _custom(decoded, labels)
    if value is not None:
        custom = {**(custom or {}), "value": value}
    created = parse_time(raw.get("add_time"), "lead.add_time")
    kinds = {lifecycle_kind(label) for label in labels}
    return LeadRecord(
        remote_id=remote_id,
        remote_created_at=created,
        remote_updated_at=parse_time(raw.get("update_time"), "lead.update_time"),
        name=raw.get("title"),
        status=status,
        source=None if source is None else str(source),
        owner_remote_id=foreign_id(raw.get("owner_id")),
        account_remote_id=foreign_id(raw.get("organization_id")),
        contact_remote_id=foreign_id(raw.get("person_id")),
        mql_at=created if kinds & {"mql", "sql"} else None,
        sql_at=created if "sql" in kinds else None,
        converted_deal_remote_id=converted[0] if converted else None,
        converted_at=converted[1] if converted else None,
        converted_account_remote_id=converted[2] if converted else None,
        custom=custom,
        remote_data=dict(raw),
    )


# --- deals and their stage history -------------------------------------------------------


def _deal_type(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return DEAL_TYPE_LABELS.get(text.lower()) or (
        text.upper() if text.upper() in DEAL_TYPE_LABELS.values() else None
    )


def map_deal(raw: Mapping[str, Any], catalog: FieldCatalog) -> list[Record]:
    """``GET /api/v2/deals`` item -> the deal, plus its only stage stay when it never moved
    (``stage_change_time`` null); moved deals get their stays from the deal flow."""
    remote_id = remote_id_of(raw, "deal")
    raw_status = raw.get("status")
    deleted = bool(raw.get("is_deleted")) or bool(raw.get("is_archived"))
    if raw_status == "deleted":
        deleted, raw_status = True, "open"
    status = _DEAL_STATUSES.get(str(raw_status))
    if status is None:
        raise MappingError(f"deal {remote_id}: unknown status {raw_status!r}")
    closed_at = None
    if status != "OPEN":
        own = "won_time" if status == "WON" else "lost_time"
        closed_at = parse_time(raw.get(own) or raw.get("close_time"), f"deal.{own}")
        if closed_at is None:
            raise MappingError(f"deal {remote_id}: status {raw_status} without {own}/close_time")
    decoded = catalog.decode(raw.get("custom_fields"))
    labels = _labels(catalog, "label", raw.get("label_ids"))
    attributes = picks(decoded, "deal")
    source = (
        attributes.get("source")
        or catalog.option_label("channel", raw.get("channel"))
        or raw.get("origin")
    )
    probability = raw.get("probability")
    created = parse_time(raw.get("add_time"), "deal.add_time")
    mrr = attributes.get("recurring_amount")
    deal = DealRecord(
        remote_id=remote_id,
        remote_created_at=created,
        remote_updated_at=parse_time(raw.get("update_time"), "deal.update_time"),
        name=raw.get("title"),
        amount=parse_money(raw.get("value"), f"deal {remote_id} value"),
        currency=(str(raw["currency"]).upper() if raw.get("currency") else None),
        pipeline_remote_id=foreign_id(raw.get("pipeline_id")),
        stage_remote_id=foreign_id(raw.get("stage_id")),
        status=status,
        owner_remote_id=foreign_id(raw.get("owner_id")),
        account_remote_id=foreign_id(raw.get("org_id")),
        contact_remote_id=foreign_id(raw.get("person_id")),
        lead_remote_id=foreign_id(raw.get("source_lead_id")),
        closed_at=closed_at,
        expected_close_date=parse_date(raw.get("expected_close_date"), "deal.expected_close"),
        lost_reason=raw.get("lost_reason") if status == "LOST" else None,
        source=None if source is None else str(source),
        deal_type=_deal_type(attributes.get("deal_type")),
        probability=None if probability is None else float(probability) / 100,
        recurring_amount=parse_money(mrr if mrr is not None else raw.get("mrr"), "deal mrr"),
        cost=parse_money(attributes.get("cost"), "deal cost"),
        contract_start=parse_date(attributes.get("contract_start"), "deal contract start"),
        contract_end=parse_date(attributes.get("contract_end"), "deal contract end"),
        deleted=deleted,
        custom=_custom(decoded, labels),
        remote_data=dict(raw),
    )
    records: list[Record] = [deal]
    stage = deal.stage_remote_id
    if raw.get("stage_change_time") is None and stage is not None and created is not None:
        records.append(
            DealStageHistoryRecord(
                remote_id=stage_history_id(remote_id, stage, created),
                deal_remote_id=remote_id,
                stage_remote_id=stage,
                pipeline_remote_id=deal.pipeline_remote_id,
                entered_at=created,
                deleted=deleted,
            )
        )
    return records


def map_stage_history(
    deal: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    pipeline_of_stage: Mapping[str, str],
) -> list[DealStageHistoryRecord]:
    """The stays of one deal, rebuilt from its ``stage_id`` changes (deal flow
    ``dealChange`` data: ``old_value``, ``new_value``, ``log_time``).

    ``deal`` is the deal as listed (``id``, ``add_time``, ``stage_id``, ``pipeline_id``).
    The first stay starts at ``add_time`` in the first change's old stage; each change
    closes the running stay and opens the next; the last one stays open.
    """
    deal_id = remote_id_of(deal, "deal")
    created = parse_time(deal.get("add_time"), "deal.add_time")
    if created is None:
        raise MappingError(f"deal {deal_id}: no add_time to start its stage history")
    start = created
    ordered = sorted(
        (c for c in changes if c.get("field_key") == "stage_id"),
        key=lambda c: (parse_time(c.get("log_time"), "flow.log_time") or start, c.get("id", 0)),
    )
    stays: list[tuple[str, datetime]] = []
    if ordered:
        first_old = foreign_id(ordered[0].get("old_value"))
        if first_old is not None:
            stays.append((first_old, created))
        for change in ordered:
            new_stage = foreign_id(change.get("new_value"))
            at = parse_time(change.get("log_time"), "flow.log_time")
            if new_stage is None or at is None:
                raise MappingError(f"deal {deal_id}: stage change without new stage or time")
            stays.append((new_stage, at))
    else:
        current = foreign_id(deal.get("stage_id"))
        if current is None:
            return []
        stays.append((current, created))
    deleted = bool(deal.get("is_deleted")) or bool(deal.get("is_archived"))
    default_pipeline = foreign_id(deal.get("pipeline_id"))
    records = []
    for index, (stage, entered) in enumerate(stays):
        exited = stays[index + 1][1] if index + 1 < len(stays) else None
        records.append(
            DealStageHistoryRecord(
                remote_id=stage_history_id(deal_id, stage, entered),
                deal_remote_id=deal_id,
                stage_remote_id=stage,
                pipeline_remote_id=pipeline_of_stage.get(stage) or default_pipeline,
                entered_at=entered,
                exited_at=exited,
                deleted=deleted,
            )
        )
    return records


# --- activities ------------------------------------------------------------------------


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


def map_activity(raw: Mapping[str, Any], type_icons: Mapping[str, str]) -> ActivityRecord:
    """``GET /api/v2/activities`` item. ``type`` is the activity type key; company-defined
    keys map through their icon (``type_icons``: key -> icon key), else TASK."""
    remote_id = remote_id_of(raw, "activity")
    key = str(raw.get("type") or "")
    kind = ACTIVITY_TYPES.get(key) or ACTIVITY_TYPES.get(type_icons.get(key, ""), "TASK")
    due_at = _due_at(raw)
    done_at = None
    if raw.get("done"):
        done_at = parse_time(raw.get("marked_as_done_time"), "activity.marked_as_done_time")
        done_at = done_at or due_at or parse_time(raw.get("update_time"))
    return ActivityRecord(
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
        deleted=bool(raw.get("is_deleted")),
        custom={"type_key": key} if key and key not in ACTIVITY_TYPES else None,
        remote_data=dict(raw),
    )


def map_note(raw: Mapping[str, Any]) -> ActivityRecord:
    """``GET /api/v1/notes`` item: a NOTE done when written. ``content`` is HTML."""
    remote_id = note_id(remote_id_of(raw, "note"))
    created = parse_time(raw.get("add_time"), "note.add_time")
    content = str(raw.get("content") or "")
    return ActivityRecord(
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
