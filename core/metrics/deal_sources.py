"""The deals row sets: every live deal, the deals that may be open at an instant (by their
access paths), and the stage probabilities the weighted pipeline joins to them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    FromClause,
    and_,
    func,
    select,
    union_all,
)

from core.metrics.measures import probability_column
from core.models import Deal, DealStageHistory, Stage
from core.models.enums import DealStatus

#: Row sets kept built (see core.metrics.sources.source).
CACHED = 512


def deals(workspace_ids: Sequence[str]) -> FromClause:
    return (
        select(Deal)
        .where(Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None))
        .subquery("deals_src")
    )


def open_deals(workspace_ids: Sequence[str], closed_since: datetime) -> FromClause:
    """The deals that may be open at an instant at or after ``closed_since`` (see
    :func:`_open_deals`), built once per workspaces and instant (sources.source)."""
    return _open_deals(tuple(workspace_ids), closed_since)


@lru_cache(maxsize=CACHED)
def _open_deals(workspace_ids: tuple[str, ...], closed_since: datetime) -> FromClause:
    """The deals that may be open at an instant at or after ``closed_since``: still-open deals
    (the partial index ``ix_deals_ws_open``) plus deals closed at or after it (a range of
    ``ix_deals_ws_closed``), as one row set with the columns of the deals source.

    The branches are disjoint by status and every deal open at such an instant is in one of
    them (a deal is OPEN, WON or LOST), so a measure of deals open at t counts the same rows
    as over all deals, without reading the workspace's long-closed deals.
    """
    live = (Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None))
    still_open = select(Deal).where(*live, Deal.status == DealStatus.OPEN)
    closed = select(Deal).where(
        *live,
        Deal.status.in_([DealStatus.WON, DealStatus.LOST]),
        Deal.closed_at >= closed_since,
    )
    return union_all(still_open, closed).subquery("deals_src")


class OpenBranch(NamedTuple):
    """A row set of the deals that may be open at an instant, and what its WHERE tells of
    every row in it: its status is one of ``statuses``, its closing time (when bounded)
    in ``[closed_from, closed_below)``."""

    rows: FromClause
    statuses: tuple[DealStatus, ...]
    closed_from: datetime | None = None
    closed_below: datetime | None = None


def open_branches(
    workspace_ids: Sequence[str], closed_since: datetime, late: datetime
) -> tuple[OpenBranch, ...]:
    """:func:`open_deals`' rows as disjoint row sets: the still-open deals, those closed in
    ``[closed_since, late)``, and those closed at or after ``late`` (a statement's latest
    instant: closed at or after any of its instants is known true of them). Each is a range
    of its own index, and a condition over what it bounds folds to what its rows leave
    undecided (core.metrics.known_values, core.metrics.open_sql)."""
    return _open_branches(tuple(workspace_ids), closed_since, late)


@lru_cache(maxsize=CACHED)
def _open_branches(
    workspace_ids: tuple[str, ...], closed_since: datetime, late: datetime
) -> tuple[OpenBranch, ...]:
    live = (Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None))
    closing = (DealStatus.WON, DealStatus.LOST)
    start = max(closed_since, late)
    parts: list[tuple[Any, tuple[DealStatus, ...], datetime | None, datetime | None]] = [
        (Deal.status == DealStatus.OPEN, (DealStatus.OPEN,), None, None)
    ]
    if closed_since < late:
        middle = and_(Deal.closed_at >= closed_since, Deal.closed_at < late)
        parts.append((and_(Deal.status.in_(closing), middle), closing, closed_since, late))
    parts.append((and_(Deal.status.in_(closing), Deal.closed_at >= start), closing, start, None))
    return tuple(
        OpenBranch(select(Deal).where(*live, where).subquery(f"deals_src{i}"), among, low, high)
        for i, (where, among, low, high) in enumerate(parts)
    )


def deals_with_history(workspace_ids: Sequence[str], before: datetime) -> FromClause:
    """:func:`_deals_with_history`, built once per workspaces and instant."""
    return _deals_with_history(tuple(workspace_ids), before)


@lru_cache(maxsize=CACHED)
def _deals_with_history(workspace_ids: tuple[str, ...], before: datetime) -> FromClause:
    """The live deals with stage history entered before ``before``, with the columns of the
    deals source: the only deals whose weight at an instant up to then may differ from
    their current stage's (core.metrics.open_sql), read from the history's side."""
    keys = (
        select(DealStageHistory.connection_id, DealStageHistory.deal_remote_id)
        .where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
            DealStageHistory.entered_at < before,
        )
        .distinct()
        .subquery("history_deals")
    )
    return (
        select(Deal)
        .join(
            keys,
            and_(
                keys.c.connection_id == Deal.connection_id,
                keys.c.deal_remote_id == Deal.remote_id,
            ),
        )
        .where(Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None))
        .subquery("deals_src")
    )


@lru_cache(maxsize=CACHED)
def _stage_at(workspace_ids: tuple[str, ...], instant: datetime, name: str) -> FromClause:
    """Per deal with stage history before ``instant``: the probability of the last stage it
    entered before then (among stages still known), ranked within the history table."""
    stay = DealStageHistory.__table__.alias(f"{name}_stay")
    stage = Stage.__table__.alias(f"{name}_stage")
    ranked = (
        select(
            stay.c.connection_id,
            stay.c.deal_remote_id,
            stage.c.probability,
            func.row_number()
            .over(
                partition_by=(stay.c.connection_id, stay.c.deal_remote_id),
                order_by=stay.c.entered_at.desc(),
            )
            .label("rank"),
        )
        .join(
            stage,
            and_(
                stage.c.connection_id == stay.c.connection_id,
                stage.c.remote_id == stay.c.stage_remote_id,
            ),
        )
        .where(
            stay.c.workspace_id.in_(workspace_ids),
            stay.c.deleted_at.is_(None),
            stay.c.entered_at < instant,
        )
        .subquery(f"{name}_ranked")
    )
    return (
        select(ranked.c.connection_id, ranked.c.deal_remote_id, ranked.c.probability)
        .where(ranked.c.rank == 1)
        .subquery(name)
    )


def _with_stage_history(
    joined: FromClause,
    deals: FromClause,
    workspace_ids: Sequence[str],
    instants: Sequence[datetime],
) -> tuple[FromClause, list[Any]]:
    """``joined`` (``deals`` or a join of it) outer-joined to, for each of ``instants``, the
    probability of the stage each deal was in then by its stage history: the join and those
    columns (each labelled ``measures.probability_column(instant)``, NULL without history
    reaching back).

    Joined, not looked up per deal: a correlated look-up per open deal and frame cost more
    than the rest of the deals statement, and (a subplan with outer references) kept
    PostgreSQL from aggregating in parallel. The history is read only for the deals that
    have some (hash-joined to the deals).
    """
    out: list[Any] = []
    for i, instant in enumerate(sorted(set(instants))):
        at = _stage_at(tuple(workspace_ids), instant, f"stage_at_{i}")
        joined = joined.outerjoin(
            at,
            and_(
                at.c.connection_id == deals.c.connection_id,
                at.c.deal_remote_id == deals.c.remote_id,
            ),
        )
        out.append(at.c.probability.label(probability_column(instant)))
    return joined, out


def with_stage_probability(
    deals: FromClause, workspace_ids: Sequence[str], instants: Sequence[datetime]
) -> FromClause:
    """Deals plus their current stage's probability (``stage_probability``) and, for each of
    ``instants``, the probability of the stage they were in then (:func:`_with_stage_history`).

    Only statements with such a measure get the joins (SQLite would not drop unused ones).
    The stage is a plain table alias so that no ORM criteria could turn the outer join into
    an inner one.
    """
    return _with_stage_probability(deals, tuple(workspace_ids), tuple(sorted(set(instants))))


@lru_cache(maxsize=CACHED)
def _with_stage_probability(
    deals: FromClause, workspace_ids: tuple[str, ...], instants: tuple[datetime, ...]
) -> FromClause:
    """Built once per row set (itself built once: sources.source, :func:`open_deals`,
    :func:`deals_with_history`), workspaces and instants: the dashboard's weighted pipeline
    rebuilt this subquery and its column proxies per request (~5 ms of Python each)."""
    stage = Stage.__table__.alias("deal_stage")
    joined: FromClause = deals.outerjoin(
        stage,
        and_(
            stage.c.connection_id == deals.c.connection_id,
            stage.c.remote_id == deals.c.stage_remote_id,
        ),
    )
    joined, history = _with_stage_history(joined, deals, workspace_ids, instants)
    columns = [deals, stage.c.probability.label("stage_probability"), *history]
    return select(*columns).select_from(joined).subquery("deals_weighted")
