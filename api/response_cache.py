"""Whole answers of metrics-only queries, cached by document, variables, viewer, data
versions and minute.

A dashboard answered from the metric result cache (core.metrics.cache) still pays for
GraphQL execution: about a thousand values completed one by one, their arguments converted,
some 25 ms of CPU for bench/dashboard.graphql. The answer of such a query is a function of
what the result cache keys on (the workspaces' data versions, the minute) plus the request
(document, operation, variables) and who asks, so it can be kept whole under that key.

Only queries whose every root field is ``metrics`` and whose ``metrics`` selections are
built-in KPI fields are kept: user-defined KPIs may change without a data version bump (the
result cache skips them too), and drill-down ``records`` fields are left to execute. The
versions read are those of every workspace the viewer may read, so any sync, import or
target change in one of them makes every kept answer of that viewer a miss.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Hashable
from datetime import UTC, datetime

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    OperationDefinitionNode,
    OperationType,
    visit,
)
from graphql.language import Visitor
from sqlalchemy import select
from strawberry.extensions import SchemaExtension

from api.limits import Lru
from core.models import Workspace

#: Answers kept per schema.
ANSWERS_KEPT = 512
#: Fields never served from a kept answer: they read records, not metric results.
UNCACHEABLE_FIELDS = frozenset({"records"})


class _FieldNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.names.add(node.name.value)


def cacheable(document: DocumentNode, operation: str | None, kpis: frozenset[str]) -> bool:
    """True when the operation reads built-in KPI fields of ``metrics`` and nothing else."""
    operations = [
        d
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
        and (operation is None or (d.name is not None and d.name.value == operation))
    ]
    if len(operations) != 1 or operations[0].operation is not OperationType.QUERY:
        return False
    names = _FieldNames()
    visit(document, names)
    if names.names & UNCACHEABLE_FIELDS:
        return False
    for root in operations[0].selection_set.selections:
        if not isinstance(root, FieldNode) or root.name.value != "metrics":
            return False
        for kpi in root.selection_set.selections if root.selection_set else ():
            if not isinstance(kpi, FieldNode) or kpi.name.value not in kpis | {"__typename"}:
                return False
    return True


class ResponseCache:
    """Kept answers, and which documents may be kept, for one schema."""

    def __init__(self, kpis: frozenset[str], capacity: int = ANSWERS_KEPT) -> None:
        self.kpis = kpis
        self.answers = Lru(capacity)
        self.documents = Lru(capacity)
        self.hits = 0

    def get(self, key: Hashable) -> ExecutionResult | None:
        found: ExecutionResult | None = self.answers.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: Hashable, answer: ExecutionResult) -> None:
        self.answers.put(key, answer)

    def cacheable(self, query: str, document: DocumentNode, operation: str | None) -> bool:
        key = (query, operation)
        found: bool | None = self.documents.get(key)
        if found is None:
            found = cacheable(document, operation, self.kpis)
            self.documents.put(key, found)
        return found


class CachedMetricsResponses(SchemaExtension):
    """Serves a kept answer instead of executing; keeps error-free answers."""

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    async def _key(self) -> Hashable | None:
        ctx = self.execution_context
        viewer = getattr(ctx.context, "viewer", None)
        session = getattr(ctx.context, "session", None)
        if (
            viewer is None
            or session is None
            or not ctx.query
            or ctx.graphql_document is None
            or not self.cache.cacheable(ctx.query, ctx.graphql_document, ctx.operation_name)
        ):
            return None
        try:
            variables = json.dumps(ctx.variables or {}, sort_keys=True, default=str)
        except (TypeError, ValueError):
            return None
        rows = await session.execute(
            select(Workspace.id, Workspace.data_version).where(
                Workspace.id.in_(sorted(viewer.workspace_ids))
            )
        )
        versions = tuple(sorted((str(i), int(v)) for i, v in rows.all()))
        minute = datetime.now(UTC).replace(second=0, microsecond=0)
        who = (viewer.organization_id, viewer.role, tuple(sorted(viewer.workspace_ids)))
        return (ctx.query, ctx.operation_name, variables, who, versions, minute)

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        key = await self._key()
        found = self.cache.get(key) if key is not None else None
        if found is not None:
            ctx.result = found
        yield
        answer = ctx.result
        if (
            key is not None
            and found is None
            and isinstance(answer, ExecutionResult)
            and not answer.errors
            and answer.data is not None
        ):
            self.cache.put(key, answer)


class AsyncAnswersSchema(strawberry.Schema):
    """A schema whose synchronous executions (``execute_sync``: introspection, tooling) run
    without kept answers: looking up data versions needs the database, which only the
    asynchronous path may await."""

    def get_extensions(self, sync: bool = False) -> list[SchemaExtension]:
        found = super().get_extensions(sync)
        if sync:
            return [e for e in found if not isinstance(e, CachedMetricsResponses)]
        return found
