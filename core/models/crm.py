"""The normalized CRM model: people, pipelines, accounts, contacts, leads, deals, activities.

Every table here carries :class:`SyncedMixin`; enum-like columns hold the closed sets
declared in :mod:`core.models.enums`.
"""

# No `from __future__ import annotations`: the columns' annotations are evaluated once, here
# (core.models says why).

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, SyncedMixin


class User(SyncedMixin, Base):
    """A CRM user (owner of deals, leads, activities)."""

    __tablename__ = "users"

    name: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(300))
    team_remote_id: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Team(SyncedMixin, Base):
    __tablename__ = "teams"

    name: Mapped[str | None] = mapped_column(String(300))


class Pipeline(SyncedMixin, Base):
    __tablename__ = "pipelines"

    name: Mapped[str | None] = mapped_column(String(300))
    display_order: Mapped[int] = mapped_column(Integer, default=0)


class Stage(SyncedMixin, Base):
    """A pipeline stage; ``kind`` is one of :class:`core.models.enums.StageKind`."""

    __tablename__ = "stages"

    pipeline_remote_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(300))
    display_order: Mapped[int] = mapped_column(Integer, default=0)
    #: Win probability in [0, 1].
    probability: Mapped[float | None] = mapped_column(Float)
    kind: Mapped[str | None] = mapped_column(String(16))
    is_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    is_won: Mapped[bool] = mapped_column(Boolean, default=False)


class Account(SyncedMixin, Base):
    """A company / organization / account."""

    __tablename__ = "accounts"

    name: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(200))
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    source: Mapped[str | None] = mapped_column(String(200))


class Contact(SyncedMixin, Base):
    """A person; the lifecycle stage dates give lead, MQL, SQL and customer times."""

    __tablename__ = "contacts"

    name: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(300))
    account_remote_id: Mapped[str | None] = mapped_column(String(255))
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    lifecycle_stage: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(String(200))
    #: When the record counts as a lead (HubSpot contacts at lifecycle lead/subscriber).
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)
    lead_at: Mapped[datetime | None]
    mql_at: Mapped[datetime | None]
    sql_at: Mapped[datetime | None]
    customer_at: Mapped[datetime | None]


class Lead(SyncedMixin, Base):
    """A prospect not yet a customer (Salesforce Lead, Pipedrive lead, HubSpot lead)."""

    __tablename__ = "leads"

    name: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(200))
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    account_remote_id: Mapped[str | None] = mapped_column(String(255))
    contact_remote_id: Mapped[str | None] = mapped_column(String(255))
    mql_at: Mapped[datetime | None]
    sql_at: Mapped[datetime | None]
    #: The CRM's own conversion time (to an opportunity); not the KPI conversion time.
    converted_at: Mapped[datetime | None]
    converted_deal_remote_id: Mapped[str | None] = mapped_column(String(255))
    converted_account_remote_id: Mapped[str | None] = mapped_column(String(255))


class Deal(SyncedMixin, Base):
    """An opportunity; ``remote_created_at`` is its creation and ``closed_at`` its win/loss."""

    __tablename__ = "deals"

    name: Mapped[str | None] = mapped_column(String(500))
    amount: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    pipeline_remote_id: Mapped[str | None] = mapped_column(String(255))
    stage_remote_id: Mapped[str | None] = mapped_column(String(255))
    #: OPEN | WON | LOST
    status: Mapped[str] = mapped_column(String(8), default="OPEN")
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    account_remote_id: Mapped[str | None] = mapped_column(String(255))
    contact_remote_id: Mapped[str | None] = mapped_column(String(255))
    lead_remote_id: Mapped[str | None] = mapped_column(String(255))
    closed_at: Mapped[datetime | None]
    expected_close_date: Mapped[date | None]
    lost_reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(200))
    #: NEW_BUSINESS | UPSELL | CROSS_SELL | RENEWAL | UPGRADE | None
    deal_type: Mapped[str | None] = mapped_column(String(32))
    probability: Mapped[float | None] = mapped_column(Float)
    recurring_amount: Mapped[Decimal | None]
    cost: Mapped[Decimal | None]
    contract_start: Mapped[date | None]
    contract_end: Mapped[date | None]


class Currency(SyncedMixin, Base):
    """A currency the CRM knows (Pipedrive ``/v1/currencies``); ``remote_id`` is the code
    deals carry in ``currency``, so a deal's currency is checked with a lookup. CRMs hold
    no FX rates here: a custom currency (``is_custom``) only converts through rates the
    workspace imports into ``fx_rates``."""

    __tablename__ = "currencies"

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(200))
    #: Digits after the decimal point amounts are shown with.
    decimals: Mapped[int | None] = mapped_column(Integer)
    symbol: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_custom: Mapped[bool] = mapped_column(Boolean, default=False)


class DealStageHistory(SyncedMixin, Base):
    """One stay of a deal in a stage; ``remote_id`` is ``deal:stage:entered-epoch``."""

    __tablename__ = "deal_stage_history"

    deal_remote_id: Mapped[str] = mapped_column(String(255))
    pipeline_remote_id: Mapped[str | None] = mapped_column(String(255))
    stage_remote_id: Mapped[str] = mapped_column(String(255))
    entered_at: Mapped[datetime] = mapped_column(nullable=False)
    exited_at: Mapped[datetime | None]


class Activity(SyncedMixin, Base):
    """A call, email, meeting, note or task; ``done_at`` is null while it is open."""

    __tablename__ = "activities"

    #: CALL | EMAIL | MEETING | NOTE | TASK
    type: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(500))
    owner_remote_id: Mapped[str | None] = mapped_column(String(255))
    deal_remote_id: Mapped[str | None] = mapped_column(String(255))
    contact_remote_id: Mapped[str | None] = mapped_column(String(255))
    account_remote_id: Mapped[str | None] = mapped_column(String(255))
    lead_remote_id: Mapped[str | None] = mapped_column(String(255))
    due_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(100))
    direction: Mapped[str | None] = mapped_column(String(16))
    #: Meetings: PROPOSED | ACCEPTED | HELD | DECLINED | CANCELLED | NO_SHOW
    meeting_status: Mapped[str | None] = mapped_column(String(16))
    #: Classified responses: POSITIVE | NEGATIVE | None
    response: Mapped[str | None] = mapped_column(String(16))


# Access paths of the metrics core (DESIGN.md: workspace + closed_at, workspace + created_at).
DEAL_CLOSED_INCLUDE = (
    "deleted_at", "status", "amount", "currency", "connection_id", "owner_remote_id",
    "remote_created_at", "stage_remote_id", "probability", "remote_id",
)  # fmt: skip
DEAL_CREATED_INCLUDE = ("deleted_at",)
DEAL_OPEN_INCLUDE = (
    "amount", "currency", "connection_id", "stage_remote_id", "probability", "remote_id",
    "status", "closed_at", "owner_remote_id",
)  # fmt: skip
ACTIVITY_DONE_INCLUDE = ("deleted_at", "connection_id", "owner_remote_id", "type", "due_at")
ACTIVITY_CONTACT_INCLUDE = ("workspace_id", "deleted_at", "type", "due_at", "done_at")
ACTIVITY_HELD_EARLY_INCLUDE = ("type", "done_at", "deleted_at", "connection_id", "owner_remote_id")
#: Meetings held at their start, before their stored done time (core.metrics.measures
#: held_before_marked): the part of "activities done" that is not a range of done_at.
ACTIVITY_HELD_EARLY = (
    "type = 'MEETING' AND done_at IS NOT NULL AND due_at IS NOT NULL AND due_at < done_at "
    "AND deleted_at IS NULL"
)
# On PostgreSQL the time indexes also carry what the metric statements of a period read
# (core/migrations/versions/0008_covering_metric_indexes.py, 0010_metrics_indexes.py):
# index-only scans.
Index(
    "ix_deals_ws_closed",
    Deal.workspace_id,
    Deal.closed_at,
    postgresql_include=list(DEAL_CLOSED_INCLUDE),
)
Index(
    "ix_deals_ws_created",
    Deal.workspace_id,
    Deal.remote_created_at,
    postgresql_include=list(DEAL_CREATED_INCLUDE),
)
Index(
    "ix_deals_ws_open",
    Deal.workspace_id,
    Deal.remote_created_at,
    postgresql_include=list(DEAL_OPEN_INCLUDE),
    postgresql_where=text("status = 'OPEN' AND deleted_at IS NULL"),
    sqlite_where=text("status = 'OPEN' AND deleted_at IS NULL"),
)
Index("ix_deals_conn_account", Deal.connection_id, Deal.account_remote_id)
# A customer known only by a contact (core.metrics.stretch_refresh recomputes its stretches
# when its deals change): its deals by contact, without indexing every deal's contact.
Index(
    "ix_deals_conn_contact_only",
    Deal.connection_id,
    Deal.contact_remote_id,
    postgresql_where=text("account_remote_id IS NULL"),
    sqlite_where=text("account_remote_id IS NULL"),
)
# mrr reads won deals with a recurring amount: a tenth of the deals, each a contract. With
# the customer stretches maintained (core.models.aggregates) it is the rest of churn,
# retention and MRR's cost; on PostgreSQL this partial index answers it without the heap.
DEAL_RECURRING_WHERE = "status = 'WON' AND recurring_amount IS NOT NULL AND deleted_at IS NULL"
DEAL_RECURRING_INCLUDE = (
    "contract_start", "contract_end", "closed_at", "recurring_amount", "currency", "amount",
    "status", "deleted_at",
)  # fmt: skip
Index(
    "ix_deals_ws_recurring",
    Deal.workspace_id,
    postgresql_include=list(DEAL_RECURRING_INCLUDE),
    postgresql_where=text(DEAL_RECURRING_WHERE),
    sqlite_where=text(DEAL_RECURRING_WHERE),
)
Index("ix_leads_ws_created", Lead.workspace_id, Lead.remote_created_at)
Index("ix_contacts_ws_created", Contact.workspace_id, Contact.remote_created_at)
Index("ix_contacts_conn_account", Contact.connection_id, Contact.account_remote_id)
Index("ix_accounts_ws", Account.workspace_id)
Index(
    "ix_activities_ws_done",
    Activity.workspace_id,
    Activity.done_at,
    postgresql_include=list(ACTIVITY_DONE_INCLUDE),
)
Index(
    "ix_activities_ws_held_early",
    Activity.workspace_id,
    Activity.due_at,
    postgresql_include=list(ACTIVITY_HELD_EARLY_INCLUDE),
    postgresql_where=text(ACTIVITY_HELD_EARLY),
    sqlite_where=text(ACTIVITY_HELD_EARLY),
)
Index("ix_activities_ws_created", Activity.workspace_id, Activity.remote_created_at)
Index("ix_activities_conn_deal", Activity.connection_id, Activity.deal_remote_id)
Index("ix_activities_conn_lead", Activity.connection_id, Activity.lead_remote_id)
# A converted lead's activities moved to its contact (core.metrics.sources), and the first
# done activity per contact.
Index(
    "ix_activities_conn_contact",
    Activity.connection_id,
    Activity.contact_remote_id,
    postgresql_include=list(ACTIVITY_CONTACT_INCLUDE),
)
# With entered_at last, "the stage a deal was in at instant T" (weighted pipeline as of a date)
# is one index seek per deal; without it SQLite scanned every history row of the workspace.
Index(
    "ix_stage_history_conn_deal_entered",
    DealStageHistory.connection_id,
    DealStageHistory.deal_remote_id,
    DealStageHistory.entered_at,
)
Index("ix_stage_history_ws_entered", DealStageHistory.workspace_id, DealStageHistory.entered_at)
Index("ix_stages_conn_pipeline", Stage.connection_id, Stage.pipeline_remote_id)
Index("ix_users_ws", User.workspace_id)
