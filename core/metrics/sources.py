"""The row sets measures read, one per :class:`Entity`, with the same column names.

Each source exposes, where it has them, ``workspace_id``, ``connection_id``,
``owner_remote_id``, ``account_remote_id``, ``pipeline_remote_id``, ``stage_remote_id``,
``source``, ``deal_type``, ``custom`` and ``type``, so one segment filter or breakdown is
written once for every entity. Deleted rows are left out here, once. Rows derived from deals
(stage stays, proposals, stage reach) carry ``deal_remote_id``, so a drill-down
(core.metrics.drill) can list the deals behind them.

Each entity's builder lives with its kind: core.metrics.deal_sources (deals, deals open at
an instant, stage probabilities), core.metrics.stage_sources (stage stays, proposals, stage
reach), core.metrics.prospect_sources (leads and contacts), core.metrics.marketing and
core.metrics.stretches; activities and accounts are plain enough to stay here.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, lru_cache

from sqlalchemy import FromClause, select

from core.metrics.deal_sources import deals, open_deals, with_stage_probability
from core.metrics.marketing import spend_source, surveys_source, visitors_source
from core.metrics.measures import activity_done_at
from core.metrics.prospect_sources import prospects
from core.metrics.stage_sources import proposals, stage_reach, stage_stays
from core.metrics.stretches import customer_stretches, reading_base_tables
from core.metrics.types import Entity
from core.models import Account, Activity


def _activities(workspace_ids: Sequence[str]) -> FromClause:
    """Activities, ``done_at`` being when each was done (a held meeting at its start) and
    ``marked_done_at`` the stored time (an index bound, see measures._activities_done)."""
    columns = [c for c in Activity.__table__.c if c.name != "done_at"]
    return (
        select(
            *columns,
            activity_done_at(Activity).label("done_at"),
            Activity.done_at.label("marked_done_at"),
        )
        .where(Activity.workspace_id.in_(workspace_ids), Activity.deleted_at.is_(None))
        .subquery("activities_src")
    )


def _accounts(workspace_ids: Sequence[str]) -> FromClause:
    """Accounts; ``account_remote_id`` is the account itself, so country filters apply."""
    return (
        select(
            Account.workspace_id,
            Account.connection_id,
            Account.remote_id.label("account_remote_id"),
            Account.remote_created_at,
            Account.owner_remote_id,
            Account.source,
            Account.custom,
        )
        .where(Account.workspace_id.in_(workspace_ids), Account.deleted_at.is_(None))
        .subquery("accounts_src")
    )


_BUILDERS = {
    Entity.DEALS: deals,
    Entity.PROSPECTS: prospects,
    Entity.ACTIVITIES: _activities,
    Entity.STAGE_STAYS: stage_stays,
    Entity.PROPOSALS: proposals,
    Entity.CUSTOMERS: customer_stretches,
    Entity.SPEND: spend_source,
    Entity.VISITORS: visitors_source,
    Entity.SURVEYS: surveys_source,
    Entity.STAGE_REACH: stage_reach,
    Entity.ACCOUNTS: _accounts,
}


def source(entity: Entity, workspace_ids: Sequence[str]) -> FromClause:
    """The row set of ``entity`` restricted to the caller's workspaces, deleted rows left out.

    Built once per entity and workspaces (:data:`CACHED`): a row set is an immutable SQL
    construct that any number of statements may select from, and building one (a subquery
    proxying every column of its table) is a good part of the Python a dashboard costs.
    """
    if not workspace_ids:
        raise ValueError("source() needs at least one workspace id")
    # Customer stretches are the maintained table or, inside stretches.from_base_tables(),
    # computed from the deals: two row sets, kept apart.
    computed = entity is Entity.CUSTOMERS and reading_base_tables()
    return _built(entity, tuple(workspace_ids), computed)


#: Row sets kept built (distinct entity and workspaces).
CACHED = 512


@lru_cache(maxsize=CACHED)
def _built(entity: Entity, workspace_ids: tuple[str, ...], computed: bool) -> FromClause:
    return _BUILDERS[entity](workspace_ids)


def has_column(entity: Entity, name: str) -> bool:
    """Whether ``entity``'s rows carry ``name`` (decides which dimensions apply)."""
    return name in _columns(entity)


@cache
def _columns(entity: Entity) -> frozenset[str]:
    """``entity``'s column names, built on first use: building every source at import cost
    a process that never asks (a sync) a few percent of its CPU."""
    return frozenset(c.name for c in _BUILDERS[entity](["ws"]).c)


__all__ = ["has_column", "open_deals", "source", "with_stage_probability"]
