"""Mapping of organizations, persons and leads (custom fields named by their catalogs)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time
from typing import Any

from connectors.pipedrive.custom_fields import FieldCatalog, picks
from connectors.pipedrive.values import (
    foreign_id,
    named_custom,
    parse_date,
    parse_time,
    remote_id_of,
)
from core.sync.records import (
    AccountRecord,
    ContactRecord,
    LeadRecord,
    builder,
)


def map_organization(raw: Mapping[str, Any], catalog: FieldCatalog) -> AccountRecord:
    """``GET /api/v2/organizations`` item; address parts give country and region."""
    decoded = catalog.decode(raw.get("custom_fields"))
    address: Mapping[str, Any] = raw.get("address") or {}
    if not isinstance(address, Mapping):
        address = {}
    attributes = picks(decoded, "organization")
    industry, source = attributes.get("industry"), attributes.get("source")
    return _new_account(
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
        custom=named_custom(decoded),
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
    return _new_contact(
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
        custom=named_custom(decoded),
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

    MQL / SQL come from the lead's labels and its status (Open, Archived, Converted)
    through the connection's lifecycle mapping (``lifecycle_kind``: value -> lead | mql |
    sql | customer). Pipedrive keeps no label history, so a labelled lead counts as
    qualified from its creation; a status is dated when the lead took it, which only a
    conversion tells (the converted deal's add time), as Salesforce's "Closed - Converted"
    is dated by the lead's status history and HubSpot's qualified lead by its stage entry."""
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
    custom = named_custom(decoded, labels)
    if value is not None:
        custom = {**(custom or {}), "value": value}
    created = parse_time(raw.get("add_time"), "lead.add_time")
    kinds = {lifecycle_kind(label) for label in labels}
    qualified = _qualified_at(kinds, lifecycle_kind(status), created, converted)
    return _new_lead(
        remote_id=remote_id,
        remote_created_at=created,
        remote_updated_at=parse_time(raw.get("update_time"), "lead.update_time"),
        name=raw.get("title"),
        status=status,
        source=None if source is None else str(source),
        owner_remote_id=foreign_id(raw.get("owner_id")),
        account_remote_id=foreign_id(raw.get("organization_id")),
        contact_remote_id=foreign_id(raw.get("person_id")),
        mql_at=qualified.get("mql"),
        sql_at=qualified.get("sql"),
        converted_deal_remote_id=converted[0] if converted else None,
        converted_at=converted[1] if converted else None,
        converted_account_remote_id=converted[2] if converted else None,
        custom=custom,
        remote_data=dict(raw),
        # Archived leads (``/v1/leads/archived``) leave the lead funnel like deleted ones;
        # a converted lead never does (Pipedrive marks it deleted at the conversion).
        deleted=not converted and (bool(raw.get("is_archived")) or bool(raw.get("is_deleted"))),
    )


def _qualified_at(
    label_kinds: set[str | None],
    status_kind: str | None,
    created: datetime | None,
    converted: tuple[str, datetime | None, str | None] | None,
) -> dict[str, datetime]:
    """When the lead became MQL and SQL: from its creation for a label (an SQL label
    implies MQL), from its conversion for the Converted status (a status mapped to SQL says
    nothing of MQL); the earlier of the two when both say so."""
    reached: dict[str, datetime] = {}
    if created is not None:
        if label_kinds & {"mql", "sql"}:
            reached["mql"] = created
        if "sql" in label_kinds:
            reached["sql"] = created
    at = converted[1] if converted else None
    if at is not None and status_kind in ("mql", "sql"):
        reached[status_kind] = min(reached.get(status_kind, at), at)
    return reached


_new_account = builder(AccountRecord)
_new_contact = builder(ContactRecord)
_new_lead = builder(LeadRecord)
