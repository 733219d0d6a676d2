"""Whole answers of metrics-only queries, kept as the bytes sent, by document, variables,
viewer, data versions and minute.

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

Answers are kept as the JSON bytes of the HTTP answer, and over HTTP a kept answer is sent
before any GraphQL work (:class:`KeptAnswers`, called by the /graphql route): no parsing,
validation or execution; the data versions are read once (in a round shared with the
requests that arrived meanwhile: core.metrics.cache.VersionReads), and the rest of the
request reuses them if the answer is not kept. Skipping validation is sound because
the key holds the whole document text, operation name and variables: an answer is only kept
after that exact request was validated and executed without an error. The key holds who asks
(organization, role, readable workspaces), so an answer never crosses tenants or roles.
:class:`CachedMetricsResponses` keeps the answers (after execution) and serves them to
executions that do not come over HTTP (the benchmarks' in-process runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    parse,
    visit,
)
from graphql.language import Visitor
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.extensions import SchemaExtension

from api.limits import Lru
from api.observability import operation_label
from core.metrics.cache import (
    VersionReads,
    Versions,
    known_versions,
    read_versions,
    remember_versions,
)
from core.prometheus import GRAPHQL_SECONDS
from core.tenancy import Viewer

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
    """Kept answers (JSON bytes), and which documents may be kept, for one schema."""

    def __init__(self, kpis: frozenset[str], capacity: int = ANSWERS_KEPT) -> None:
        self.kpis = kpis
        self.answers = Lru(capacity)
        self.documents = Lru(capacity)
        self.hits = 0

    def get(self, key: Hashable) -> bytes | None:
        found: bytes | None = self.answers.get(key)
        if found is not None:
            self.hits += 1
        return found

    def put(self, key: Hashable, answer: bytes) -> None:
        self.answers.put(key, answer)

    def cacheable(
        self, query: str, operation: str | None, document: DocumentNode | None = None
    ) -> bool:
        """Whether answers to this document may be kept (parsed here the first time when
        no ``document`` is given; a document that does not parse is not, and is left to
        GraphQL to refuse)."""
        key = (query, operation)
        found: bool | None = self.documents.get(key)
        if found is None:
            if document is None:
                try:
                    document = parse(query)
                except GraphQLError:
                    return False
            found = cacheable(document, operation, self.kpis)
            self.documents.put(key, found)
        return found


def answer_key(
    query: str,
    operation: str | None,
    variables: Mapping[str, Any] | None,
    viewer: Viewer,
    versions: Versions,
    now: datetime | None = None,
) -> Hashable | None:
    """What a kept answer is kept under; None for variables that are not plain JSON."""
    try:
        encoded = json.dumps(variables or {}, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return None
    minute = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    who = (viewer.organization_id, viewer.role, tuple(sorted(viewer.workspace_ids)))
    return (query, operation, encoded, who, versions, minute)


def encode_answer(data: object) -> bytes:
    """The bytes of an error-free answer, exactly as the /graphql route encodes it
    (strawberry's ``encode_json``): the same whether kept or not, so is its ETag."""
    return json.dumps({"data": data}, separators=(",", ":")).encode()


async def request_versions(reader: Any, info: dict[Any, Any], viewer: Viewer) -> Versions:
    """The data versions of every workspace ``viewer`` may read, read once per request
    (kept in the request session's ``info``, where the metrics executor finds them)."""
    versions = known_versions(info, viewer.workspace_ids)
    if versions is None:
        versions = await read_versions(reader, viewer.workspace_ids)
        remember_versions(info, versions)
    return versions


#: ``Session.info`` key: the answer key computed over HTTP for this request.
_KEY = "crmkpi.answer_key"
#: Longest a request waits for the same answer being computed by another one.
WAIT_SECONDS = 30.0


class KeptAnswers:
    """The /graphql route's side: a kept answer's bytes, before any GraphQL work.

    One computation per answer: when the minute turns or a sync bumps a data version, every
    dashboard client misses at once; only the first executes, the others wait for its
    answer (50 clients once computed the same dashboard 50 times over, issue #19). If the
    first fails (its answer is not kept), each waiter executes its own."""

    def __init__(self, cache: ResponseCache, engine: Callable[[], AsyncEngine]) -> None:
        self.cache = cache
        self.versions = VersionReads(engine)
        self._computing: dict[Hashable, asyncio.Future[None]] = {}

    async def answer(
        self,
        context: Any,
        query: Any,
        operation: Any,
        variables: Mapping[str, Any] | None,
    ) -> bytes | None:
        """The kept answer for this request, or None: then the request executes, reusing
        the data versions and key computed here, and :meth:`finished` must follow."""
        started = time.perf_counter()
        viewer: Viewer | None = getattr(context, "viewer", None)
        session = getattr(context, "session", None)
        if (
            viewer is None
            or session is None
            or not isinstance(query, str)
            or not isinstance(operation, str | None)
            or not self.cache.cacheable(query, operation)
        ):
            return None
        info = session.info
        versions = known_versions(info, viewer.workspace_ids)
        if versions is None:
            versions = await self.versions.read(viewer.workspace_ids)
            remember_versions(info, versions)
        key = answer_key(query, operation, variables, viewer, versions)
        if key is None:
            return None
        found = self.cache.get(key)
        computing = self._computing.get(key)
        if found is None and computing is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(computing), WAIT_SECONDS)
            found = self.cache.get(key)
        if found is not None:
            seconds = time.perf_counter() - started
            GRAPHQL_SECONDS.labels(operation=operation_label(operation)).observe(seconds)
            return found
        info[_KEY] = key
        if key not in self._computing:
            self._computing[key] = asyncio.get_running_loop().create_future()
        return None

    def finished(self, context: Any) -> None:
        """This request's execution is over (kept or not): release those waiting for it."""
        session = getattr(context, "session", None)
        key = session.info.pop(_KEY, None) if session is not None else None
        computing = self._computing.pop(key, None) if key is not None else None
        if computing is not None and not computing.done():
            computing.set_result(None)


class CachedMetricsResponses(SchemaExtension):
    """Keeps error-free answers of cacheable queries; serves them to executions that did
    not get them before GraphQL work (in-process runs, a request racing the first)."""

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
            or not self.cache.cacheable(ctx.query, ctx.operation_name, ctx.graphql_document)
        ):
            return None
        known = session.info.get(_KEY)  # computed over HTTP for this very request
        if known is not None:
            return cast(Hashable, known)
        versions = await request_versions(session, session.info, viewer)
        return answer_key(ctx.query, ctx.operation_name, ctx.variables, viewer, versions)

    async def on_execute(self) -> AsyncIterator[None]:
        ctx = self.execution_context
        key = await self._key()
        found = self.cache.get(key) if key is not None else None
        if found is not None:
            ctx.result = ExecutionResult(data=json.loads(found)["data"])
        yield
        answer = ctx.result
        if (
            key is not None
            and found is None
            and isinstance(answer, ExecutionResult)
            and not answer.errors
            and answer.data is not None
        ):
            self.cache.put(key, encode_answer(answer.data))


class AsyncAnswersSchema(strawberry.Schema):
    """A schema whose synchronous executions (``execute_sync``: introspection, tooling) run
    without kept answers: looking up data versions needs the database, which only the
    asynchronous path may await. ``responses`` is where its kept answers are, for the
    /graphql route to send them before any GraphQL work."""

    responses: ResponseCache | None = None

    def get_extensions(self, sync: bool = False) -> list[SchemaExtension]:
        found = super().get_extensions(sync)
        if sync:
            return [e for e in found if not isinstance(e, CachedMetricsResponses)]
        return found
