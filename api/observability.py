"""/metrics (Prometheus) and the GraphQL latency extension."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import SchemaExtension

from core.prometheus import GRAPHQL_SECONDS

QUEUE_DEPTH = Gauge("crmkpi_sync_queue_depth", "Sync jobs waiting in the PostgreSQL queue.")


def _shipped_operations() -> frozenset[str]:
    """Operation names of the queries this project ships: the dashboard's, and the
    standard dashboard query of bench/ (``Dashboard``)."""
    names = {"Dashboard"}
    for script in (Path(__file__).parent / "dashboard").glob("*.js"):
        names.update(re.findall(r"\b(?:query|mutation)\s+([A-Z]\w*)", script.read_text()))
    return frozenset(names)


#: The only operation labels /metrics may carry, with "anonymous" and "other" (issue #20):
#: a label taken from the client's operationName made 42,000 series from 3,000 requests.
KNOWN_OPERATIONS = _shipped_operations()


def operation_label(name: str | None) -> str:
    if not name:
        return "anonymous"
    return name if name in KNOWN_OPERATIONS else "other"


class GraphQLLatency(SchemaExtension):
    """Observes each operation's duration under its operation name, when it is one of the
    known operations (:data:`KNOWN_OPERATIONS`); any other name is "other"."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        label = operation_label(self.execution_context.operation_name)
        GRAPHQL_SECONDS.labels(operation=label).observe(time.perf_counter() - started)


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
