"""importSpend / importVisitors / importSurveys through GraphQL, on both databases."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Spend, SurveyResponse, Visitors
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key
from tests.support.api import api_client

PAYLOAD = """
fragment payload on ImportPayload {
  __typename
  ... on ImportSuccess { kind workspaceId rows }
  ... on ImportFailed { message totalErrors errors { line reason } }
}
"""


def _mutation(field: str) -> str:
    return (
        f"mutation($input: ImportInput!) {{ r: {field}(input: $input) {{ ...payload }} }}" + PAYLOAD
    )


async def _tenant(session: AsyncSession, role: str) -> tuple[str, str]:
    org = await create_organization(session, "Acme")
    ws = await create_workspace(session, organization_id=org.id, name="EU", currency="EUR")
    _, key = await create_api_key(session, organization_id=org.id, role=role)
    await session.commit()
    return ws.id, key


async def _count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_each_kind_imports_and_reimports(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        ws, key = await _tenant(session, "editor")
    files = {
        "importSpend": (Spend, "day,channel,amount\n2026-03-01,ads,10\n2026-03-02,ads,12.5\n"),
        "importVisitors": (Visitors, "day,channel,visitors\n2026-03-01,seo,400\n"),
        "importSurveys": (SurveyResponse, "id,kind,responded_at,score\nr1,NPS,2026-03-01,10\n"),
    }
    async with api_client(engine) as client:
        for field, (model, csv) in files.items():
            for _ in range(2):
                body = await client.graphql(
                    _mutation(field), {"input": {"workspaceId": ws, "csv": csv}}, key=key
                )
                assert "errors" not in body, body
                expected_rows = csv.count("\n") - 1
                assert body["data"]["r"] == {
                    "__typename": "ImportSuccess",
                    "kind": field.removeprefix("import").lower(),
                    "workspaceId": ws,
                    "rows": expected_rows,
                }
            async with sessionmaker() as session:
                assert await _count(session, model) == expected_rows


async def test_a_bad_file_is_refused_with_its_lines(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        ws, key = await _tenant(session, "editor")
    csv = "day,amount\n2026-03-01,10\n2026-02-30,5\n2026-03-03,x\n"
    async with api_client(engine) as client:
        body = await client.graphql(
            _mutation("importSpend"), {"input": {"workspaceId": ws, "csv": csv}}, key=key
        )
    result = body["data"]["r"]
    assert result["__typename"] == "ImportFailed" and result["totalErrors"] == 2
    assert [e["line"] for e in result["errors"]] == [3, 4]
    assert "nothing imported" in result["message"]
    async with sessionmaker() as session:
        assert await _count(session, Spend) == 0


async def test_viewers_and_other_tenants_cannot_import(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        ws, viewer_key = await _tenant(session, "viewer")
        _, other_key = await _tenant(session, "admin")
    variables = {"input": {"workspaceId": ws, "csv": "day,amount\n2026-03-01,10\n"}}
    async with api_client(engine) as client:
        read_only = await client.graphql(_mutation("importSpend"), variables, key=viewer_key)
        foreign = await client.graphql(_mutation("importSpend"), variables, key=other_key)
    assert "cannot change data" in read_only["errors"][0]["message"]
    assert "not found" in foreign["errors"][0]["message"]
    async with sessionmaker() as session:
        assert await _count(session, Spend) == 0
