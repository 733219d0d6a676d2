"""The /graphql route with automatic persisted queries and a stable code on every error.

Automatic persisted queries, in the protocol Apollo Client and urql speak
(``extensions: {"persistedQuery": {"version": 1, "sha256Hash": "<hex>"}}``):

1. the client sends only the hash; an unknown one answers the error
   ``PersistedQueryNotFound`` (``extensions.code`` ``PERSISTED_QUERY_NOT_FOUND``);
2. the client sends the document once, with its hash: a hash that is not the document's
   SHA-256 is refused (``PERSISTED_QUERY_HASH_MISMATCH``), a matching one is kept;
3. from then on the hash alone is enough, by POST or by GET
   (``/graphql?extensions=...&variables=...``), which browsers and CDNs can cache: a GET by
   hash that succeeds answers with ``Cache-Control``, ``Vary: Authorization`` and an
   ``ETag`` (``If-None-Match`` then gets 304). Answers depend on the API key, so they are
   ``private``: a shared cache in front must key them by the Authorization header.

Documents are kept per process (least recently used dropped first): several API processes
each learn a document the first time one of them is asked for it, which the protocol
handles by step 1 and 2. Mutations stay POST-only (strawberry refuses them over GET). An
answer to a request whose document was stored carries ``X-Persisted-Query: stored`` (not
part of the protocol: it lets a client use GET by hash only where the server keeps them).

Error codes: every error of a GraphQL answer carries ``extensions.code``; the ones set where
the error is raised (``QUERY_TOO_EXPENSIVE``, ``INVALID_INPUT``, ...) are kept, the others
are derived from the error's class (:data:`CODES`). Requests refused before execution (no
query, a body that is not JSON, a mutation by GET) answer JSON too, with ``BAD_REQUEST``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import replace
from typing import Any, cast

from cross_web import HTTPException  # what strawberry's views raise for a bad request
from fastapi import Request, Response
from fastapi.responses import JSONResponse
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from api.errors import AuthenticationError, PermissionDeniedError
from api.permissions import CanWrite, IsAdmin, IsAuthenticated
from api.response_cache import KeptAnswers
from core.errors import ConfigurationError, CrmkpiError, NotFoundError, ValidationError

#: Documents kept per process.
MAX_DOCUMENTS = 5000
#: How long a browser may reuse a successful GET-by-hash answer.
CACHE_SECONDS = 60
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Set when this request's document was stored (the answer then says so in a header, so a
#: client knows GET by hash will work here).
_STORED: ContextVar[bool] = ContextVar("persisted_query_stored", default=False)
#: What MaskErrors puts in place of an internal error (strawberry's default message).
_MASKED = "Unexpected error."

#: extensions.code by the class of the error a resolver raised (first match wins).
CODES: tuple[tuple[type[BaseException], str], ...] = (
    (AuthenticationError, "UNAUTHENTICATED"),
    (PermissionDeniedError, "FORBIDDEN"),
    (NotFoundError, "NOT_FOUND"),
    (ValidationError, "BAD_USER_INPUT"),
    (ConfigurationError, "SERVER_NOT_CONFIGURED"),
    (CrmkpiError, "BAD_REQUEST"),
)
#: extensions.code of the requests strawberry refuses before executing them.
_HTTP_CODES = {405: "METHOD_NOT_ALLOWED", 415: "UNSUPPORTED_MEDIA_TYPE"}
#: Refusals of the declarative permissions (strawberry raises them as plain GraphQLErrors).
_PERMISSION_CODES = {
    IsAuthenticated.message: "UNAUTHENTICATED",
    CanWrite.message: "FORBIDDEN",
    IsAdmin.message: "FORBIDDEN",
}


def error_code(error: GraphQLError) -> str:
    """The stable code of an error that has none yet."""
    original = error.original_error
    if original is None:
        if error.message == _MASKED:
            return "INTERNAL_SERVER_ERROR"
        if error.message in _PERMISSION_CODES:
            return _PERMISSION_CODES[error.message]
        if error.message.startswith("Syntax Error"):
            return "GRAPHQL_PARSE_FAILED"
        return "GRAPHQL_VALIDATION_FAILED"
    for cls, code in CODES:
        if isinstance(original, cls):
            return code
    if isinstance(original, GraphQLError):
        return _PERMISSION_CODES.get(original.message, "BAD_REQUEST")
    return "INTERNAL_SERVER_ERROR"


class PersistedQueryError(Exception):
    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message, self.code, self.status = message, code, status

    def response(self) -> Response:
        body = {
            "data": None,
            "errors": [{"message": self.message, "extensions": {"code": self.code}}],
        }
        return JSONResponse(body, status_code=self.status)


class DocumentStore:
    """Documents by SHA-256, least recently used dropped first."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS) -> None:
        self.max_documents = max_documents
        self._documents: OrderedDict[str, str] = OrderedDict()

    def get(self, sha256: str) -> str | None:
        document = self._documents.get(sha256)
        if document is not None:
            self._documents.move_to_end(sha256)
        return document

    def put(self, sha256: str, document: str) -> None:
        self._documents[sha256] = document
        self._documents.move_to_end(sha256)
        while len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)


def _persisted_hash(extensions: dict[str, Any] | None) -> str | None:
    """The hash a request names, or None when it does not use persisted queries."""
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(
            "PersistedQueryNotSupported: only persistedQuery version 1 is supported",
            "PERSISTED_QUERY_NOT_SUPPORTED",
            400,
        )
    sha = persisted.get("sha256Hash")
    if not isinstance(sha, str) or not _SHA256.match(sha.lower()):
        raise PersistedQueryError(
            "persistedQuery.sha256Hash must be 64 hexadecimal digits", "BAD_REQUEST", 400
        )
    return sha.lower()


class PersistedQueryRouter(GraphQLRouter[Any, None]):
    """strawberry's FastAPI router, plus persisted queries and error codes (module doc)."""

    def __init__(
        self,
        *args: Any,
        store: DocumentStore | None = None,
        answers: KeptAnswers | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.documents = store or DocumentStore()
        self.answers = answers

    def _resolve(self, data: GraphQLRequestData) -> GraphQLRequestData:
        sha = _persisted_hash(data.extensions)
        if sha is None:
            return data
        if data.query is None:
            document = self.documents.get(sha)
            if document is None:
                raise PersistedQueryError(
                    "PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200
                )
            return replace(data, query=document)
        if hashlib.sha256(data.query.encode()).hexdigest() != sha:
            raise PersistedQueryError(
                "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH", 400
            )
        self.documents.put(sha, data.query)
        _STORED.set(True)
        return data

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET by hash (no ``query`` parameter, yet an operation)."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        data = await super().parse_http_body(request)
        if isinstance(data, list):
            return [self._resolve(item) for item in data]
        return self._resolve(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        formatted_errors = cast(list[dict[str, Any]], response.get("errors") or [])
        for error, formatted in zip(result.errors or [], formatted_errors, strict=False):
            extensions = dict(formatted.get("extensions") or {})
            extensions.setdefault("code", error_code(error))
            formatted["extensions"] = extensions
        request.state.graphql_errors = bool(result.errors)
        return response

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        token = _STORED.set(False)
        try:
            response = await self._kept(request, context)
            if response is None:
                response = await super().run(request, context, root_value)
        except PersistedQueryError as exc:
            return exc.response()
        except HTTPException as exc:
            # strawberry answers these in plain text; a GraphQL client reads JSON with a code.
            return PersistedQueryError(
                exc.reason, _HTTP_CODES.get(exc.status_code, "BAD_REQUEST"), exc.status_code
            ).response()
        finally:
            stored = _STORED.get()
            _STORED.reset(token)
            if self.answers is not None:
                self.answers.finished(context)
        if stored and isinstance(response, Response):
            response.headers["X-Persisted-Query"] = "stored"
        if isinstance(request, Request) and _cacheable(request, response):
            return _with_cache_headers(request, response)
        return response

    async def _kept(self, request: Any, context: Any) -> Response | None:
        """A kept answer (api.response_cache) for this request, before any GraphQL work;
        None to execute it. The request is read as execution would read it, so a hash or
        body that execution refuses is refused here the same way."""
        if self.answers is None or not isinstance(request, Request):
            return None
        if request.method not in ("GET", "POST"):
            return None
        adapter = self.request_adapter_class(request)
        if request.method == "GET" and self.should_render_graphql_ide(adapter):
            return None
        try:
            data = await self.parse_http_body(adapter)
        except (ValueError, KeyError):  # not JSON: execution answers why
            return None
        if isinstance(data, list):
            return None
        body = await self.answers.answer(context, data.query, data.operation_name, data.variables)
        if body is None:
            return None
        request.state.graphql_errors = False
        return Response(body, media_type="application/json")


def _cacheable(request: Request, response: Any) -> bool:
    """A successful GET by hash (an answer with no error)."""
    if request.method != "GET" or not isinstance(response, Response):
        return False
    if response.status_code != 200 or getattr(request.state, "graphql_errors", True):
        return False
    try:
        extensions = json.loads(request.query_params.get("extensions") or "null")
    except ValueError:
        return False
    return isinstance(extensions, dict) and "persistedQuery" in extensions


def _with_cache_headers(request: Request, response: Response) -> Response:
    etag = '"' + hashlib.sha256(bytes(response.body)).hexdigest()[:32] + '"'
    headers = {
        "Cache-Control": f"private, max-age={CACHE_SECONDS}",
        "Vary": "Authorization",
        "ETag": etag,
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response
