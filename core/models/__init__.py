"""The normalized model and tenancy, as SQLAlchemy 2 typed tables (Alembic reads ``Base``).

The model modules do not use ``from __future__ import annotations`` (STYLE.md's rule has
this one exception): with it, every ``Mapped[...]`` annotation is a string SQLAlchemy
evaluates with ``eval()`` when it maps the class, about 800 of them (a mixin's columns
again for each class), 20 ms of CPU in every process's start-up (a sync's, issue #21).
Evaluated by Python itself, they are compiled once into the modules' bytecode. A column
that names a class defined later still quotes it (``Mapped["Deal"]``).
"""

from sqlalchemy import Table

from core.models.aggregates import CustomerStretch
from core.models.base import SYNCED_COLUMNS, Base, SyncedMixin, new_id, utcnow
from core.models.business import FxRate, Spend, SurveyResponse, Target, UserKpi, Visitors
from core.models.connection import Connection, RecordError, SyncRun, SyncState
from core.models.crm import (
    Account,
    Activity,
    Contact,
    Currency,
    Deal,
    DealStageHistory,
    Lead,
    Pipeline,
    Stage,
    Team,
    User,
)
from core.models.platform import MetricCacheEntry, RateLimitBucket, SyncWebhook
from core.models.ratelimit import RateBudget
from core.models.rollups import ActivityDay, DealDay
from core.models.tenancy import ApiKey, Organization, Workspace

#: Synced tables by the record type name connectors yield.
SYNCED_MODELS: dict[str, type[SyncedMixin]] = {
    "user": User,
    "team": Team,
    "pipeline": Pipeline,
    "stage": Stage,
    "account": Account,
    "contact": Contact,
    "lead": Lead,
    "deal": Deal,
    "deal_stage_history": DealStageHistory,
    "currency": Currency,
    "activity": Activity,
}


def synced_table(record_type: str) -> Table:
    """The synced table of a record type (the sync's writers address tables by it)."""
    return SYNCED_MODELS[record_type].__table__  # type: ignore[attr-defined,no-any-return]


__all__ = [
    "SYNCED_COLUMNS",
    "SYNCED_MODELS",
    "Account",
    "Activity",
    "ActivityDay",
    "ApiKey",
    "Base",
    "Connection",
    "Contact",
    "Currency",
    "CustomerStretch",
    "Deal",
    "DealDay",
    "DealStageHistory",
    "FxRate",
    "Lead",
    "MetricCacheEntry",
    "Organization",
    "Pipeline",
    "RateBudget",
    "RateLimitBucket",
    "RecordError",
    "Spend",
    "Stage",
    "SurveyResponse",
    "SyncRun",
    "SyncState",
    "SyncWebhook",
    "SyncedMixin",
    "Target",
    "Team",
    "User",
    "UserKpi",
    "Visitors",
    "Workspace",
    "new_id",
    "synced_table",
    "utcnow",
]
