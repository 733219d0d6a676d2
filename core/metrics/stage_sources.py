"""Row sets derived from the deals' stage history: stays in a stage, proposals (first entry
into a PROPOSAL-kind stage) and the stages each deal reached. Each carries
``deal_remote_id`` and the deal's dimensions, so segments and drill-downs apply.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import aliased

from core.models import Deal, DealStageHistory, Stage
from core.models.enums import StageKind


def _deal_dims(deal: type[Deal]) -> list[object]:
    return [
        deal.owner_remote_id,
        deal.account_remote_id,
        deal.pipeline_remote_id,
        deal.source,
        deal.deal_type,
        deal.custom,
    ]


def stage_stays(workspace_ids: Sequence[str]) -> FromClause:
    """Stays in a stage, with the deal's dimensions; ``stage_remote_id`` is the stay's stage."""
    deal = aliased(Deal)
    return (
        select(
            DealStageHistory.workspace_id,
            DealStageHistory.connection_id,
            DealStageHistory.stage_remote_id,
            DealStageHistory.deal_remote_id,
            DealStageHistory.entered_at,
            DealStageHistory.exited_at,
            *_deal_dims(deal),
        )
        .join(
            deal,
            and_(
                deal.connection_id == DealStageHistory.connection_id,
                deal.remote_id == DealStageHistory.deal_remote_id,
                deal.deleted_at.is_(None),
            ),
        )
        .where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
        )
        .subquery("stays_src")
    )


def proposals(workspace_ids: Sequence[str]) -> FromClause:
    """Deals that ever entered a PROPOSAL-kind stage, with their first entry."""
    first = (
        select(
            DealStageHistory.connection_id.label("connection_id"),
            DealStageHistory.deal_remote_id.label("deal_remote_id"),
            func.min(DealStageHistory.entered_at).label("first_at"),
        )
        .join(
            Stage,
            and_(
                Stage.connection_id == DealStageHistory.connection_id,
                Stage.remote_id == DealStageHistory.stage_remote_id,
            ),
        )
        .where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
            Stage.kind == StageKind.PROPOSAL,
        )
        .group_by(DealStageHistory.connection_id, DealStageHistory.deal_remote_id)
        .subquery()
    )
    deal = aliased(Deal)
    return (
        select(
            deal.workspace_id,
            deal.connection_id,
            deal.stage_remote_id,
            deal.remote_id.label("deal_remote_id"),
            first.c.first_at,
            *_deal_dims(deal),
        )
        .join(
            first,
            and_(
                first.c.connection_id == deal.connection_id,
                first.c.deal_remote_id == deal.remote_id,
            ),
        )
        .where(deal.workspace_id.in_(workspace_ids), deal.deleted_at.is_(None))
        .subquery("proposals_src")
    )


def _not_lost(stage: type[Stage]) -> ColumnElement[bool]:
    return or_(stage.kind.is_(None), stage.kind != StageKind.LOST)


def stage_reach(workspace_ids: Sequence[str]) -> FromClause:
    """Per deal, every non-lost stage of its pipeline up to the furthest one it reached.

    "Reached" is entered (stage history) or currently in; order is the stages' display order,
    so a deal that skipped a stage still reached it.
    """
    visited = union_all(
        select(
            DealStageHistory.connection_id.label("connection_id"),
            DealStageHistory.deal_remote_id.label("deal_remote_id"),
            DealStageHistory.stage_remote_id.label("stage_remote_id"),
        ).where(
            DealStageHistory.workspace_id.in_(workspace_ids),
            DealStageHistory.deleted_at.is_(None),
        ),
        select(Deal.connection_id, Deal.remote_id, Deal.stage_remote_id).where(
            Deal.workspace_id.in_(workspace_ids), Deal.deleted_at.is_(None)
        ),
    ).subquery()
    seen = aliased(Stage)
    furthest = (
        select(
            visited.c.connection_id,
            visited.c.deal_remote_id,
            func.max(seen.display_order).label("max_order"),
        )
        .join(
            seen,
            and_(
                seen.connection_id == visited.c.connection_id,
                seen.remote_id == visited.c.stage_remote_id,
            ),
        )
        .where(_not_lost(seen))
        .group_by(visited.c.connection_id, visited.c.deal_remote_id)
        .subquery()
    )
    deal = aliased(Deal)
    stage = aliased(Stage)
    return (
        select(
            deal.workspace_id,
            deal.connection_id,
            deal.remote_created_at,
            deal.remote_id.label("deal_remote_id"),
            stage.remote_id.label("stage_remote_id"),
            stage.display_order.label("stage_order"),
            furthest.c.max_order,
            *_deal_dims(deal),
        )
        .join(
            furthest,
            and_(
                furthest.c.connection_id == deal.connection_id,
                furthest.c.deal_remote_id == deal.remote_id,
            ),
        )
        .join(
            stage,
            and_(
                stage.connection_id == deal.connection_id,
                stage.pipeline_remote_id == deal.pipeline_remote_id,
                stage.display_order <= furthest.c.max_order,
                _not_lost(stage),
            ),
        )
        .where(deal.workspace_id.in_(workspace_ids), deal.deleted_at.is_(None))
        .subquery("reach_src")
    )
