"""/metrics (Prometheus) and the GraphQL latency extension."""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import SchemaExtension

from core.observability import GRAPHQL_SECONDS

QUEUE_DEPTH = Gauge("crmkpi_sync_queue_depth", "Sync jobs waiting in the PostgreSQL queue.")


class GraphQLLatency(SchemaExtension):
    """Observes each operation's duration under its operation name."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        name = self.execution_context.operation_name or "anonymous"
        GRAPHQL_SECONDS.labels(operation=name[:64]).observe(time.perf_counter() - started)


async def _queue_depth(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        return
    async with engine.connect() as conn:
        if await conn.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")):
            QUEUE_DEPTH.set(
                await conn.scalar(
                    text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'")
                )
                or 0
            )


async def metrics_endpoint(request: Request) -> Response:
    await _queue_depth(request.app.state.crmkpi.engine)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
