"""Every bad input of issue #20's list 8, answered with a 4xx or an error that names the
problem (never a 500 or "Unexpected error."), on SQLite and PostgreSQL; the CLI's with one
line and no traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from tests.api.test_cli import crmkpi
from tests.support.api import ApiClient, api_client
from tests.support.records import Tenant, create_tenant

IMPORT = """mutation($ws: ID!, $c: String!) { importSpend(input: {workspaceId: $ws, csv: $c}) {
  __typename ... on ImportSuccess { rows } ... on ImportFailed { message } } }"""
SPEND = "day,kind,channel,campaign,amount,currency\n"


@pytest.fixture
async def tenant(sessionmaker: async_sessionmaker[AsyncSession]) -> Tenant:
    async with sessionmaker() as session:
        return await create_tenant(session, "acme", workspaces=1, deals=12)


async def _raw(client: ApiClient, body: bytes, key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return await client.http.post("/graphql", content=body, headers=headers)


async def _ascii(client: ApiClient, query: str, variables: dict[str, Any], key: str) -> Any:
    """A request whose JSON escapes every non-ASCII character (a lone surrogate included)."""
    body = json.dumps({"query": query, "variables": variables}, ensure_ascii=True).encode()
    return (await _raw(client, body, key)).json()


async def test_malformed_bodies_are_400(engine: AsyncEngine, tenant: Tenant) -> None:
    key = tenant.keys["viewer"]
    cases = {
        b'{"query": "{ __typename \xff }"}': "not valid UTF-8",
        b"42": "must be a JSON object with a query, not int",
        b'"x"': "must be a JSON object with a query, not str",
        b"null": "must be a JSON object with a query, not null",
        b"[" * 100_000 + b"]" * 100_000: "nested too deeply",
        b'{"query": ': "not valid JSON",
    }
    async with api_client(engine) as client:
        answers = {body: await _raw(client, body, key) for body in cases}
        invalid_key = await client.http.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers={"Authorization": "Bearer ck_invented"},
        )
    for body, expected in cases.items():
        answer = answers[body]
        assert answer.status_code == 400, (body[:20], answer.text)
        error = answer.json()["errors"][0]
        assert expected in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
    assert invalid_key.status_code == 401


async def test_bad_values_name_the_problem(engine: AsyncEngine, tenant: Tenant) -> None:
    ws, conn = tenant.workspace_ids[0], tenant.connection_ids[0]
    admin = tenant.keys["admin"]
    rename = "mutation($n: String!) { updateOrganization(input: {name: $n}) { __typename } }"
    schedule = """mutation($id: ID!) { setConnectionSchedule(input: {id: $id, every: "999999999d"})
      { __typename ... on MutationError { message } } }"""
    old = """{ metrics { salesRevenue(period: {start: "0001-01-01", end: "2025-01-01"},
      compareTo: PREVIOUS_PERIOD) { value } } }"""
    runs = "query($id: ID!) { connection(id: $id) { lastRuns(limit: -1) { status } } }"
    groups = """{ metrics { opportunitiesCreated(period: {start: "2000-01-01", end: "2100-01-01"},
      breakdown: {by: OWNER, top: 1}) {
        value breakdown { key label records { totalCount } } } } }"""
    async with api_client(engine) as client:
        surrogate = await _ascii(client, rename, {"n": "a\ud800b"}, admin)
        in_literal = await _ascii(
            client, 'mutation { updateOrganization(input: {name: "a\\ud800"}) { __typename } }', {},
            admin,
        )  # fmt: skip
        cr_csv = SPEND.replace("\n", "\r") + "2025-01-02,MARKETING,web,,10,EUR\r"
        bare_cr = await client.graphql(IMPORT, {"ws": ws, "c": cr_csv}, key=admin)
        nul = await client.graphql(
            IMPORT, {"ws": ws, "c": SPEND + "2025-01-02,MARKETING,w\x00eb,,10,EUR\n"}, key=admin
        )
        every = await client.graphql(schedule, {"id": conn}, key=admin)
        period = await client.graphql(old, key=admin)
        limit = await client.graphql(runs, {"id": conn}, key=admin)
        other = await client.graphql(groups, key=admin)
    assert "variable $n contains a lone surrogate" in surrogate["errors"][0]["message"]
    assert "Invalid Unicode escape sequence: '\\ud800'" in in_literal["errors"][0]["message"]
    assert bare_cr["data"]["importSpend"] == {"__typename": "ImportSuccess", "rows": 1}
    assert "variable $c contains a NUL character" in nul["errors"][0]["message"]
    assert every["data"]["setConnectionSchedule"]["message"] == (
        "schedule '999999999d' is too long: at most every 366d"
    )
    assert (
        "period dates must be between 1900-01-01 and 2200-01-01" in (period["errors"][0]["message"])
    )
    assert limit["errors"][0]["message"] == "limit must be between 1 and 50, not -1"
    # the "other" group cannot list records: that field alone is null, with its reason
    result = other["data"]["metrics"]["opportunitiesCreated"]
    assert result["value"] is not None and len(result["breakdown"]) == 2, other  # top + other
    named = [g for g in result["breakdown"] if g["records"] is not None]
    assert named and named[0]["records"]["totalCount"] >= 1
    assert any(g["records"] is None for g in result["breakdown"]), other
    assert all("'other' group" in e["message"] for e in other["errors"])
    for body in (surrogate, in_literal, nul, every, period, limit, other):
        assert "Unexpected error" not in str(body)


def test_the_cli_answers_bad_input_in_one_line(
    database_url: str, tenant: Tenant, tmp_path: Path
) -> None:
    env = {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}
    ws, conn = tenant.workspace_ids[0], tenant.connection_ids[0]
    big = tmp_path / "big.csv"
    big.write_text(SPEND + '2025-01-02,MARKETING,"' + "x" * 140_000 + '",,10,EUR\n', "utf-8")
    nul = tmp_path / "nul.csv"
    nul.write_text(SPEND + "2025-01-02,MARKETING,w\x00eb,,10,EUR\n", "utf-8")
    cases = [
        (("import", "spend", "--workspace", ws, str(big)), "longer than 131,072 characters"),
        (("import", "spend", "--workspace", ws, str(nul)), "nul.csv:2: contains a NUL character"),
        (("connection", "schedule", conn, "--every", "99999999999d"), "too long"),
    ]
    for args, expected in cases:
        result = crmkpi(*args, env=env, cwd=tmp_path)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, result.stderr
        assert expected in result.stderr, result.stderr
