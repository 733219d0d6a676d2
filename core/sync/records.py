"""Typed records that connectors yield; field names equal the normalized model's columns.

A record is what one CRM object becomes after mapping. The engine adds the bookkeeping
columns (workspace, connection, synced_at) and upserts it on (connection_id, remote_id).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar


@dataclass(slots=True, kw_only=True)
class Record:
    """Common part of every synced record. ``deleted`` soft-deletes the row."""

    record_type: ClassVar[str]

    remote_id: str
    remote_created_at: datetime | None = None
    remote_updated_at: datetime | None = None
    deleted: bool = False
    remote_data: dict[str, Any] | None = None
    custom: dict[str, Any] | None = field(default=None)


@dataclass(slots=True, kw_only=True)
class UserRecord(Record):
    record_type: ClassVar[str] = "user"
    name: str | None = None
    email: str | None = None
    team_remote_id: str | None = None
    active: bool = True


@dataclass(slots=True, kw_only=True)
class TeamRecord(Record):
    record_type: ClassVar[str] = "team"
    name: str | None = None


@dataclass(slots=True, kw_only=True)
class PipelineRecord(Record):
    record_type: ClassVar[str] = "pipeline"
    name: str | None = None
    display_order: int = 0


@dataclass(slots=True, kw_only=True)
class StageRecord(Record):
    """A stage. ``kind`` may be left None: the engine guesses it (core.sync.mappings)."""

    record_type: ClassVar[str] = "stage"
    pipeline_remote_id: str | None = None
    name: str | None = None
    display_order: int = 0
    probability: float | None = None
    kind: str | None = None
    is_closed: bool = False
    is_won: bool = False


@dataclass(slots=True, kw_only=True)
class AccountRecord(Record):
    record_type: ClassVar[str] = "account"
    name: str | None = None
    country: str | None = None
    region: str | None = None
    industry: str | None = None
    owner_remote_id: str | None = None
    source: str | None = None


@dataclass(slots=True, kw_only=True)
class ContactRecord(Record):
    record_type: ClassVar[str] = "contact"
    name: str | None = None
    email: str | None = None
    account_remote_id: str | None = None
    owner_remote_id: str | None = None
    lifecycle_stage: str | None = None
    source: str | None = None
    is_lead: bool = False
    lead_at: datetime | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    customer_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class LeadRecord(Record):
    record_type: ClassVar[str] = "lead"
    name: str | None = None
    status: str | None = None
    source: str | None = None
    owner_remote_id: str | None = None
    account_remote_id: str | None = None
    contact_remote_id: str | None = None
    mql_at: datetime | None = None
    sql_at: datetime | None = None
    converted_at: datetime | None = None
    converted_deal_remote_id: str | None = None
    converted_account_remote_id: str | None = None


@dataclass(slots=True, kw_only=True)
class DealRecord(Record):
    """A deal. ``status`` is OPEN, WON or LOST; ``closed_at`` is set only when closed."""

    record_type: ClassVar[str] = "deal"
    name: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    pipeline_remote_id: str | None = None
    stage_remote_id: str | None = None
    status: str = "OPEN"
    owner_remote_id: str | None = None
    account_remote_id: str | None = None
    contact_remote_id: str | None = None
    lead_remote_id: str | None = None
    closed_at: datetime | None = None
    expected_close_date: date | None = None
    lost_reason: str | None = None
    source: str | None = None
    deal_type: str | None = None
    probability: float | None = None
    recurring_amount: Decimal | None = None
    cost: Decimal | None = None
    contract_start: date | None = None
    contract_end: date | None = None


@dataclass(slots=True, kw_only=True)
class DealStageHistoryRecord(Record):
    """One stay of a deal in a stage. Use :func:`stage_history_id` for ``remote_id``."""

    record_type: ClassVar[str] = "deal_stage_history"
    deal_remote_id: str
    stage_remote_id: str
    entered_at: datetime
    pipeline_remote_id: str | None = None
    exited_at: datetime | None = None


@dataclass(slots=True, kw_only=True)
class CurrencyRecord(Record):
    """A currency of the CRM account; ``remote_id`` is its code (what deals reference)."""

    record_type: ClassVar[str] = "currency"
    code: str
    name: str | None = None
    decimals: int | None = None
    symbol: str | None = None
    active: bool = True
    is_custom: bool = False


@dataclass(slots=True, kw_only=True)
class ActivityRecord(Record):
    """type: CALL | EMAIL | MEETING | NOTE | TASK; ``done_at`` None while open."""

    record_type: ClassVar[str] = "activity"
    type: str
    subject: str | None = None
    owner_remote_id: str | None = None
    deal_remote_id: str | None = None
    contact_remote_id: str | None = None
    account_remote_id: str | None = None
    lead_remote_id: str | None = None
    due_at: datetime | None = None
    done_at: datetime | None = None
    outcome: str | None = None
    direction: str | None = None
    meeting_status: str | None = None
    response: str | None = None


@dataclass(slots=True, kw_only=True)
class FxRateRecord:
    """``1 currency = rate base_currency`` on ``day`` (written to fx_rates, not a synced table)."""

    record_type: ClassVar[str] = "fx_rate"
    base_currency: str
    currency: str
    day: date
    rate: Decimal


def stage_history_id(deal_remote_id: str, stage_remote_id: str, entered_at: datetime) -> str:
    """The stable remote id of one stay of a deal in a stage."""
    return f"{deal_remote_id}:{stage_remote_id}:{int(entered_at.timestamp())}"


AnyRecord = Record | FxRateRecord
