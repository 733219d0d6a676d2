"""Automatic persisted queries (the Apollo/urql protocol) and extensions.code on errors."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from graphql import GraphQLError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.persisted_queries import DocumentStore, error_code
from core.errors import NotFoundError
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key
from tests.support.api import api_client

QUERY = "query Names($id: ID!) { workspace(id: $id) { name currency } }"
SHA = hashlib.sha256(QUERY.encode()).hexdigest()


def _persisted(sha: str = SHA, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": sha}}


async def _tenant(session: AsyncSession) -> tuple[str, str, str]:
    org = await create_organization(session, "Agency")
    ws = await create_workspace(session, organization_id=org.id, name="Acme", currency="EUR")
    _, viewer = await create_api_key(session, organization_id=org.id, role="viewer")
    _, admin = await create_api_key(session, organization_id=org.id, role="admin")
    await session.commit()
    return ws.id, viewer, admin


def _get_params(variables: dict[str, Any], extensions: dict[str, Any]) -> dict[str, str]:
    return {"variables": json.dumps(variables), "extensions": json.dumps(extensions)}


async def test_the_apq_round_trip(engine: AsyncEngine, session: AsyncSession) -> None:
    ws, key, _ = await _tenant(session)
    auth = {"Authorization": f"Bearer {key}"}
    variables = {"id": ws}
    expected = {"data": {"workspace": {"name": "Acme", "currency": "EUR"}}}
    async with api_client(engine) as api:
        http: httpx.AsyncClient = api.http
        # 1. The hash alone, unknown: the error Apollo Client and urql look for.
        unknown = await http.post(
            "/graphql", json={"variables": variables, "extensions": _persisted()}, headers=auth
        )
        # 2. The document once, with its hash.
        first = await http.post(
            "/graphql",
            json={"query": QUERY, "variables": variables, "extensions": _persisted()},
            headers=auth,
        )
        # 3. The hash alone from then on: POST, and GET with cache headers.
        by_hash = await http.post(
            "/graphql", json={"variables": variables, "extensions": _persisted()}, headers=auth
        )
        params = _get_params(variables, _persisted())
        get = await http.get("/graphql", params=params, headers=auth)
        again = await http.get(
            "/graphql", params=params, headers={**auth, "If-None-Match": get.headers["etag"]}
        )
        # Another key's answer differs, so a GET that fails carries no cache headers.
        anonymous = await http.get("/graphql", params=params)
    assert unknown.status_code == 200
    assert unknown.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    assert first.json() == expected
    # The answer says the document is kept (a client may use GET by hash from now on).
    assert first.headers["x-persisted-query"] == "stored"
    assert "x-persisted-query" not in by_hash.headers and "x-persisted-query" not in unknown.headers
    assert by_hash.json() == expected
    assert get.status_code == 200 and get.json() == expected
    assert get.headers["cache-control"] == "private, max-age=60"
    assert get.headers["vary"] == "Authorization"
    assert again.status_code == 304 and again.content == b""
    assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert "cache-control" not in anonymous.headers and "etag" not in anonymous.headers


async def test_a_hash_that_is_not_the_documents_is_refused(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    ws, key, _ = await _tenant(session)
    auth = {"Authorization": f"Bearer {key}"}
    other = "query Other { viewer { role } }"
    async with api_client(engine) as api:
        # The hash of QUERY sent with another document: refused, and nothing is stored.
        wrong = await api.http.post(
            "/graphql", json={"query": other, "extensions": _persisted()}, headers=auth
        )
        after = await api.http.post(
            "/graphql", json={"variables": {"id": ws}, "extensions": _persisted()}, headers=auth
        )
        version = await api.http.post(
            "/graphql", json={"query": QUERY, "extensions": _persisted(version=2)}, headers=auth
        )
        malformed = await api.http.post(
            "/graphql", json={"query": QUERY, "extensions": _persisted("abc")}, headers=auth
        )
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert after.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert version.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"
    assert malformed.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_mutation_is_never_run_by_get(engine: AsyncEngine, session: AsyncSession) -> None:
    _, _, admin = await _tenant(session)
    auth = {"Authorization": f"Bearer {admin}"}
    mutation = 'mutation { createWorkspace(input: {name: "By GET"}) { __typename } }'
    sha = hashlib.sha256(mutation.encode()).hexdigest()
    async with api_client(engine) as api:
        # The document and its hash by GET: refused before anything runs.
        get = await api.http.get(
            "/graphql",
            params={"query": mutation, "extensions": json.dumps(_persisted(sha))},
            headers=auth,
        )
        names = await api.graphql("{ workspaces { name } }", key=admin)
    assert get.status_code == 400
    assert get.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert [w["name"] for w in names["data"]["workspaces"]] == ["Acme"]


async def test_requests_refused_before_execution_answer_json_with_a_code(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    _, key, _ = await _tenant(session)
    auth = {"Authorization": f"Bearer {key}"}
    async with api_client(engine) as api:
        no_query = await api.http.post("/graphql", json={"variables": {}}, headers=auth)
        not_json = await api.http.post(
            "/graphql", content=b"{oops", headers={**auth, "Content-Type": "application/json"}
        )
        method = await api.http.put("/graphql", json={"query": "{ viewer { role } }"})
    for response in (no_query, not_json):
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert no_query.json()["errors"][0]["message"] == "No GraphQL query found in the request"
    assert method.status_code == 405


async def test_every_error_has_a_code(engine: AsyncEngine, session: AsyncSession) -> None:
    ws, viewer, _ = await _tenant(session)
    cases = {
        "UNAUTHENTICATED": ("{ workspaces { id } }", None, None),
        "GRAPHQL_PARSE_FAILED": ("{ workspaces { id }", {}, viewer),
        "GRAPHQL_VALIDATION_FAILED": ("{ workspaces { nope } }", {}, viewer),
        "NOT_FOUND": (
            "query($id: ID!) { metrics(workspaceId: $id) { dealsWon { value } } }",
            {"id": "0" * 32},
            viewer,
        ),
        "BAD_USER_INPUT": (
            'query($id: ID!) { metrics(workspaceId: $id, currency: "EURO") '
            "{ dealsWon { value } } }",
            {"id": ws},
            viewer,
        ),
        "FORBIDDEN": (
            'mutation { createWorkspace(input: {name: "x"}) { __typename } }',
            {},
            viewer,
        ),
        "QUERY_TOO_EXPENSIVE": (
            "{ deals(first: 500) { edges { node { id } } } "
            + " ".join(
                f"d{i}: deals(first: 500) {{ edges {{ node {{ id }} }} }}" for i in range(20)
            )
            + " }",
            {},
            viewer,
        ),
    }
    async with api_client(engine) as api:
        for code, (query, variables, key) in cases.items():
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            response = await api.http.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
            errors = response.json().get("errors")
            assert errors, (code, response.text)
            assert {e["extensions"]["code"] for e in errors} == {code}, (code, errors)


def test_codes_of_internal_errors() -> None:
    masked = GraphQLError("Unexpected error.")
    assert error_code(masked) == "INTERNAL_SERVER_ERROR"
    assert error_code(GraphQLError("boom", original_error=RuntimeError("x"))) == (
        "INTERNAL_SERVER_ERROR"
    )
    assert error_code(GraphQLError("gone", original_error=NotFoundError("x"))) == "NOT_FOUND"


def test_the_store_drops_the_least_recently_used() -> None:
    store = DocumentStore(max_documents=2)
    store.put("a", "A")
    store.put("b", "B")
    assert store.get("a") == "A"  # a is now the most recent
    store.put("c", "C")
    assert (store.get("a"), store.get("b"), store.get("c")) == ("A", None, "C")
