"""Typed records that connectors yield; field names equal the normalized model's columns.

A record is what one CRM object becomes after mapping. The engine adds the bookkeeping
columns (workspace, connection, synced_at) and upserts it on (connection_id, remote_id).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, ParamSpec, TypeVar

_P = ParamSpec("_P")
_R = TypeVar("_R")


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
_T = TypeVar("_T")


def by_type(items: Sequence[_T]) -> dict[type[_T], list[_T]]:
    """``items`` by their exact type, the types in the order first seen, each list in the
    items' order. A page usually holds one or two record types: one pass in C finds
    them, and a comprehension per type gathers its items (a dict lookup and an append
    per record cost twice as much)."""
    kinds = list(dict.fromkeys(map(type, items)))
    if len(kinds) == 1:
        return {kinds[0]: list(items)}
    return {kind: [item for item in items if type(item) is kind] for kind in kinds}


def builder(cls: Callable[_P, _R]) -> Callable[_P, _R]:
    """A constructor of the record class ``cls`` with its very signature, twice as fast.

    Why: calling a class goes through ``type.__call__``, which packs keyword arguments
    into a dict and unpacks them again for ``__init__``; a mapper passes 10 to 25 of them
    per record, and that round trip was half of building a record (0.5 of 1.0 us for an
    activity, a few hundredths of a CPU-second per 10,000-deal HubSpot sync). The builder
    is a plain function, so the keywords are passed as they are; it creates the instance
    with ``object.__new__`` and sets every slot, defaults included, as the dataclass's own
    ``__init__`` does. Only for the plain slotted dataclasses of this module (no
    ``__post_init__``, no default factory, not frozen): anything else is refused.
    """
    if not isinstance(cls, type) or "__slots__" not in cls.__dict__:
        raise TypeError(f"{cls!r} is not a slotted record class")
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or params.frozen or hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: only plain dataclasses have a builder")
    names: list[str] = []
    signature: list[str] = []
    defaults: dict[str, Any] = {}
    for f in fields(cls):
        if f.default_factory is not MISSING or not f.init:
            raise TypeError(f"{cls.__name__}.{f.name}: no builder for this field")
        names.append(f.name)
        if f.default is MISSING:
            signature.append(f.name)
        else:
            defaults[f"_d_{f.name}"] = f.default
            signature.append(f"{f.name}=_d_{f.name}")
    body = "".join(f"\n    r.{n} = {n}" for n in names)
    source = f"def build(*, {', '.join(signature)}):\n    r = _new(_cls){body}\n    return r"
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, **defaults}
    exec(source, namespace)  # noqa: S102 (built from the class's own field names)
    build: Callable[_P, _R] = namespace["build"]
    build.__qualname__ = build.__name__ = f"build_{cls.__name__}"
    build.__doc__ = f"``{cls.__name__}(...)`` without ``type.__call__`` (see :func:`builder`)."
    return build
