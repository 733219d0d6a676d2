"""``pipelines``: each pipeline of the caller's workspaces with its stages in display order.

A funnel is drawn per pipeline, its stages in the CRM's order (``stageConversion`` broken
down by stage answers counts per stage id, not their order), and a view across pipelines is
only meaningful on the common stage scale (each stage's ``kind``, mapped by the connector).
This is the one place a client reads that structure, in one request.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from sqlalchemy import select
from strawberry.types import Info

from api.context import Context
from api.permissions import IsAuthenticated
from api.types.records import Stage
from core.models import Pipeline as PipelineRow
from core.models import Stage as StageRow
from core.records import live


@strawberry.type(description="A pipeline and its stages, in display order.")
class PipelineStages:
    id: strawberry.ID = strawberry.field(
        description="The pipeline's id (the id segment {pipelines} takes)."
    )
    workspace_id: strawberry.ID
    connection_id: strawberry.ID
    name: str | None
    stages: list[Stage] = strawberry.field(
        description="Its stages by displayOrder (LOST stages included; kind says which)."
    )


@strawberry.type
class PipelinesQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Pipelines of the caller's workspaces (or of workspaceIds), each with its "
        "stages in display order: what a per-pipeline funnel needs to order stageConversion's "
        "breakdown by STAGE, and their kinds for a view across pipelines.",
    )
    async def pipelines(
        self,
        info: Info[Context, Any],
        workspace_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="Only these workspaces (default: every readable)."),
        ] = None,
    ) -> list[PipelineStages]:
        ctx = info.context
        viewer = ctx.require_viewer()
        pipelines = select(PipelineRow).where(live(PipelineRow))
        stages = select(StageRow).where(live(StageRow))
        if workspace_ids is not None:
            wanted = [viewer.require_workspace(str(w)) for w in workspace_ids]
            pipelines = pipelines.where(PipelineRow.workspace_id.in_(wanted))
            stages = stages.where(StageRow.workspace_id.in_(wanted))
        # The session is scoped to the caller's workspaces (core.tenancy): no other rows.
        by_pipeline: dict[tuple[str, str | None], list[StageRow]] = {}
        for row in await ctx.session.scalars(stages.order_by(StageRow.display_order, StageRow.id)):
            by_pipeline.setdefault((row.connection_id, row.pipeline_remote_id), []).append(row)
        rows = await ctx.session.scalars(
            pipelines.order_by(PipelineRow.workspace_id, PipelineRow.name, PipelineRow.id)
        )
        return [
            PipelineStages(
                id=strawberry.ID(str(p.id)),
                workspace_id=strawberry.ID(p.workspace_id),
                connection_id=strawberry.ID(p.connection_id),
                name=p.name,
                stages=[
                    Stage.from_row(s) for s in by_pipeline.get((p.connection_id, p.remote_id), [])
                ],
            )
            for p in rows
        ]
