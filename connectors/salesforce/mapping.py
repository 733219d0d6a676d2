"""Pure functions from Salesforce REST records (SOQL rows) to ``core.sync.records``.

Salesforce facts the functions encode: datetimes are UTC (``2013-05-20T20:49:32.000+0000``),
``CloseDate``/``ConvertedDate`` are plain dates (taken as midnight UTC; a task's
``ActivityDate`` as midnight in the org's time zone),
probabilities are percents, ``IsClosed``/``IsWon`` come from the stage, record ids tell
their object by a three-character prefix (``WhoId``/``WhatId`` are polymorphic), and
currency rates are per one unit of the org's corporate currency.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from connectors.salesforce import settings
from connectors.salesforce.metadata import SalesProcesses
from connectors.salesforce.values import (
    custom_fields,
    flag,
    id_with_prefix,
    local_midnight,
    midnight_utc,
    parse_date,
    parse_datetime,
    parse_decimal,
    percent,
    remote_data,
    text,
)
from core.sync.connector import MappingError
from core.sync.records import (
    AccountRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    FxRateRecord,
    LeadRecord,
    Record,
    StageRecord,
    TeamRecord,
    UserRecord,
    builder,
    stage_history_id,
)

_RATE_PLACES = Decimal("0.0000000001")


def base_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The common Record fields; a row without ``Id`` cannot be stored."""
    remote_id = raw.get("Id")
    if not remote_id:
        raise MappingError("record without Id")
    return {
        "remote_id": str(remote_id),
        "remote_created_at": parse_datetime(raw.get("CreatedDate"), "CreatedDate"),
        "remote_updated_at": parse_datetime(
            raw.get("SystemModstamp") or raw.get("LastModifiedDate"), "SystemModstamp"
        ),
        "deleted": flag(raw.get("IsDeleted")),
        "remote_data": remote_data(raw),
        "custom": custom_fields(raw),
    }


def _name(raw: Mapping[str, Any]) -> str | None:
    joined = " ".join(p for p in (raw.get("FirstName"), raw.get("LastName")) if p)
    return text(raw.get("Name")) or joined or None


def owner_id(raw: Mapping[str, Any]) -> str | None:
    """OwnerId when it is a user; a queue (``00G``) owns no one's pipeline."""
    return id_with_prefix(raw.get("OwnerId"), settings.PREFIX_USER)


# -- people and structure --------------------------------------------------------------


def map_role(raw: Mapping[str, Any]) -> TeamRecord:
    return TeamRecord(**base_fields(raw), name=text(raw.get("Name")))


def map_user(raw: Mapping[str, Any]) -> UserRecord:
    return UserRecord(
        **base_fields(raw),
        name=_name(raw),
        email=text(raw.get("Email")),
        team_remote_id=text(raw.get("UserRoleId")),
        active=raw.get("IsActive") is not False,
    )


def map_stage(raw: Mapping[str, Any]) -> StageRecord:
    """An OpportunityStage; its ``ApiName`` is what ``Opportunity.StageName`` holds."""
    api_name = text(raw.get("ApiName")) or text(raw.get("MasterLabel"))
    if api_name is None:
        raise MappingError("OpportunityStage without ApiName")
    is_closed, is_won = flag(raw.get("IsClosed")), flag(raw.get("IsWon"))
    base = base_fields(raw)
    base["remote_id"] = api_name
    base["deleted"] = base["deleted"] or raw.get("IsActive") is False
    return StageRecord(
        **base,
        pipeline_remote_id=settings.PIPELINE_ID,
        name=text(raw.get("MasterLabel")) or api_name,
        display_order=int(raw.get("SortOrder") or 0),
        probability=percent(raw.get("DefaultProbability"), "DefaultProbability"),
        kind=("WON" if is_won else "LOST") if is_closed else None,
        is_closed=is_closed,
        is_won=is_won,
    )


def map_account(raw: Mapping[str, Any]) -> AccountRecord:
    return AccountRecord(
        **base_fields(raw),
        name=text(raw.get("Name")),
        country=text(raw.get("BillingCountry")),
        region=text(raw.get("BillingState")),
        industry=text(raw.get("Industry")),
        owner_remote_id=owner_id(raw),
        source=text(raw.get("AccountSource")),
    )


#: Attribute (mql_at, sql_at, customer_at) -> the custom fields holding it, first set wins.
DateFields = Mapping[str, Sequence[str]]


def _day_or_instant(value: Any, name: str, zone: tzinfo) -> datetime | None:
    """A custom Date field (a day of the org's calendar: its local midnight in ``zone``) or
    DateTime field (an instant)."""
    if isinstance(value, str) and len(value) == 10:
        return local_midnight(parse_date(value, name), zone)
    return parse_datetime(value, name)


def qualified_dates(
    raw: Mapping[str, Any], fields: DateFields, zone: tzinfo = UTC
) -> dict[str, datetime]:
    """When the person became an MQL, an SQL or a customer, from the org's custom date
    fields (``settings.QUALIFIED_DATE_FIELDS``, per connection ``*_date_fields`` options)."""
    found: dict[str, datetime] = {}
    for attribute, names in fields.items():
        for name in names:
            at = _day_or_instant(raw.get(name), name, zone)
            if at is not None:
                found[attribute] = at
                break
    return found


def map_contact(
    raw: Mapping[str, Any], fields: DateFields | None = None, zone: tzinfo = UTC
) -> ContactRecord:
    """A contact; with ``fields``, its MQL, SQL and customer times from custom date fields
    (Salesforce has no lifecycle of its own). A contact is never a lead: leads are Leads."""
    dates = qualified_dates(raw, fields or {}, zone)
    return ContactRecord(
        **base_fields(raw),
        name=_name(raw),
        email=text(raw.get("Email")),
        account_remote_id=text(raw.get("AccountId")),
        owner_remote_id=owner_id(raw),
        source=text(raw.get("LeadSource")),
        mql_at=dates.get("mql_at"),
        sql_at=dates.get("sql_at"),
        customer_at=dates.get("customer_at"),
    )


#: Classifies a lead status as lead | mql | sql | customer (the connection's field mappings).
Classifier = Callable[[str | None], str | None]


def status_times(raw: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    """(status, entered at) of a lead, oldest first, from its ``Histories`` Status rows.

    The status before the first change held since creation; with no change (or field
    history tracking off) the current status is taken as held since creation.
    """
    child = raw.get(settings.LEAD_HISTORY_RELATIONSHIP)
    rows = child.get("records") if isinstance(child, Mapping) else None
    changes = []
    for row in rows or ():
        if row.get("Field") != "Status":
            continue
        at = parse_datetime(row.get("CreatedDate"), "LeadHistory.CreatedDate")
        if at is None:
            raise MappingError("LeadHistory row without CreatedDate")
        changes.append((at, text(row.get("OldValue")), text(row.get("NewValue"))))
    changes.sort(key=lambda change: change[0])
    created = parse_datetime(raw.get("CreatedDate"), "CreatedDate")
    first = changes[0][1] if changes else text(raw.get("Status"))
    times = [(first, created)] if first and created else []
    times += [(new, at) for at, _, new in changes if new]
    return times


def map_lead(
    raw: Mapping[str, Any],
    classify: Classifier | None = None,
    fields: DateFields | None = None,
    zone: tzinfo = UTC,
) -> LeadRecord:
    """A lead; with ``classify``, MQL/SQL times are when its status first meant them, or the
    lead's MQL/SQL custom date fields (``fields``) where earlier: an org may keep either."""
    converted = flag(raw.get("IsConverted"))
    converted_on = parse_date(raw.get("ConvertedDate"), "ConvertedDate") if converted else None
    reached: dict[str, datetime] = {}
    if classify is not None:
        for status, at in status_times(raw):
            kind = classify(status)
            if kind is not None:
                reached.setdefault(kind, at)
    for attribute, at in qualified_dates(raw, fields or {}, zone).items():
        kind = attribute.removesuffix("_at")
        if kind in ("mql", "sql") and (kind not in reached or at < reached[kind]):
            reached[kind] = at
    return LeadRecord(
        **base_fields(raw),
        name=_name(raw),
        status=text(raw.get("Status")),
        source=text(raw.get("LeadSource")),
        owner_remote_id=owner_id(raw),
        account_remote_id=text(raw.get("ConvertedAccountId")),
        contact_remote_id=text(raw.get("ConvertedContactId")),
        mql_at=reached.get("mql"),
        sql_at=reached.get("sql"),
        converted_at=midnight_utc(converted_on),
        converted_deal_remote_id=text(raw.get("ConvertedOpportunityId")) if converted else None,
        converted_account_remote_id=text(raw.get("ConvertedAccountId")) if converted else None,
    )


# -- deals ---------------------------------------------------------------------------------


def stage_stays(raw: Mapping[str, Any]) -> list[tuple[str, datetime]]:
    """(stage, entered at) from the opportunity's OpportunityHistory rows, oldest first.

    A history row is written on every change of stage, amount, probability or close date,
    so consecutive rows with the same stage are one stay.
    """
    child = raw.get(settings.HISTORY_RELATIONSHIP)
    rows = child.get("records") if isinstance(child, Mapping) else None
    stamped = []
    for row in rows or ():
        stage = text(row.get("StageName"))
        at = parse_datetime(row.get("CreatedDate"), "OpportunityHistory.CreatedDate")
        if stage is None or at is None:
            raise MappingError("OpportunityHistory row without StageName or CreatedDate")
        stamped.append((at, stage))
    stamped.sort(key=lambda pair: pair[0])
    stays: list[tuple[str, datetime]] = []
    for at, stage in stamped:
        if not stays or stays[-1][0] != stage:
            stays.append((stage, at))
    return stays


def map_opportunity(
    raw: Mapping[str, Any],
    *,
    default_currency: str | None = None,
    processes: SalesProcesses | None = None,
) -> list[Record]:
    """The deal, then one record per stay in a stage (``exited_at`` = next stay's entry);
    placed in the pipeline of its record type's sales process, if the org has several."""
    base = base_fields(raw)
    stage = text(raw.get("StageName"))
    if stage is None:
        raise MappingError("Opportunity without StageName")
    processes = processes or SalesProcesses()
    record_type = text(raw.get("RecordTypeId"))
    pipeline, stage_remote_id = processes.place(record_type, stage)
    is_closed, is_won = flag(raw.get("IsClosed")), flag(raw.get("IsWon"))
    close_date = parse_date(raw.get("CloseDate"), "CloseDate")
    stays = stage_stays(raw)
    closed_at = None
    if is_closed:
        # The time the deal entered its closing stage; CloseDate (a date) when history is off.
        last = stays[-1] if stays else None
        closed_at = last[1] if last and last[0] == stage else midnight_utc(close_date)
    lost_reason = next((text(raw.get(f)) for f in settings.LOST_REASON_FIELDS if raw.get(f)), None)
    deal_type = text(raw.get("Type"))
    deal = DealRecord(
        **base,
        name=text(raw.get("Name")),
        amount=parse_decimal(raw.get("Amount"), "Amount"),
        currency=text(raw.get("CurrencyIsoCode")) or default_currency,
        pipeline_remote_id=pipeline,
        stage_remote_id=stage_remote_id,
        status=("WON" if is_won else "LOST") if is_closed else "OPEN",
        owner_remote_id=owner_id(raw),
        account_remote_id=text(raw.get("AccountId")),
        contact_remote_id=text(raw.get("ContactId")),
        closed_at=closed_at,
        expected_close_date=close_date,
        lost_reason=lost_reason if is_closed and not is_won else None,
        source=text(raw.get("LeadSource")),
        deal_type=settings.DEAL_TYPES.get(deal_type.lower()) if deal_type else None,
        probability=percent(raw.get("Probability"), "Probability"),
    )
    records: list[Record] = [deal]
    for index, (stay_stage, entered) in enumerate(stays):
        exited = stays[index + 1][1] if index + 1 < len(stays) else None
        stay_pipeline, stay_stage_id = processes.place(record_type, stay_stage)
        records.append(
            _new_stay(
                remote_id=stage_history_id(deal.remote_id, stay_stage, entered),
                remote_created_at=entered,
                remote_updated_at=deal.remote_updated_at,
                deleted=deal.deleted,
                deal_remote_id=deal.remote_id,
                stage_remote_id=stay_stage_id,
                pipeline_remote_id=stay_pipeline,
                entered_at=entered,
                exited_at=exited,
            )
        )
    return records


# -- currencies ----------------------------------------------------------------------------


def _inverse_rate(raw: Mapping[str, Any]) -> Decimal:
    """Salesforce gives units of the currency per corporate unit; we store the inverse."""
    rate = parse_decimal(raw.get("ConversionRate"), "ConversionRate")
    if rate is None or rate <= 0:
        raise MappingError(f"ConversionRate must be positive: {raw.get('ConversionRate')!r}")
    return (Decimal(1) / rate).quantize(_RATE_PLACES)


def map_currency_type(raw: Mapping[str, Any], *, corporate: str, day: date) -> FxRateRecord:
    """A CurrencyType (the org's current rate) as the rate of ``day``."""
    iso = text(raw.get("IsoCode"))
    if iso is None:
        raise MappingError("CurrencyType without IsoCode")
    return FxRateRecord(base_currency=corporate, currency=iso, day=day, rate=_inverse_rate(raw))


def map_dated_rate(raw: Mapping[str, Any], *, corporate: str) -> FxRateRecord:
    """A DatedConversionRate, valid from ``StartDate`` until ``NextStartDate``."""
    iso = text(raw.get("IsoCode"))
    day = parse_date(raw.get("StartDate"), "StartDate")
    if iso is None or day is None:
        raise MappingError("DatedConversionRate without IsoCode or StartDate")
    return FxRateRecord(base_currency=corporate, currency=iso, day=day, rate=_inverse_rate(raw))


#: Stays are built per visit: records.builder skips type.__call__'s keyword round trip.
_new_stay = builder(DealStageHistoryRecord)
