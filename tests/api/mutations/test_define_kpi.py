"""defineKpi / deleteKpi through GraphQL (both databases): kpi(name:) answers at once, the
stored KPI is a Metrics field of an app started afterwards, and definitions stay in their
tenant."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Workspace
from core.tenancy import create_api_key
from tests.core.metrics.factory import Seed, utc
from tests.core.metrics.test_user_kpis import CUSTOMER_OUTCOMES
from tests.support.api import api_client

DEFINE = """
mutation($input: DefineKpiInput!) {
  defineKpi(input: $input) {
    __typename
    ... on DefineKpiSuccess { kpi { name unit userDefined workspaceId } }
    ... on MutationError { message code }
  }
}
"""
DELETE = """
mutation($name: String!) {
  deleteKpi(name: $name) { __typename ... on MutationError { message code } }
}
"""
BY_NAME = """
query($ws: ID!) {
  metrics(workspaceId: $ws) {
    kpi(name: "customerOutcomes", period: {start: "2025-06-01", end: "2025-07-01"}) {
      value numerator denominator unit
    }
  }
}
"""
TARGET = """
mutation($ws: ID!) {
  setTarget(input: {workspaceId: $ws, kpi: "customerOutcomes", periodStart: "2025-06-01",
                    periodEnd: "2025-07-01", value: 0.75}) {
    __typename
  }
}
"""
WITH_TARGET = """
query($ws: ID!) {
  metrics(workspaceId: $ws) {
    kpi(name: "customerOutcomes", period: {start: "2025-06-01", end: "2025-07-01"}) {
      target { value attainment }
    }
  }
}
"""
AS_FIELD = """
query($ws: ID!) {
  metrics(workspaceId: $ws) {
    customerOutcomes(period: {start: "2025-06-01", end: "2025-07-01"}) { value }
    winRate(period: {start: "2025-06-01", end: "2025-07-01"}) { value }
  }
}
"""
DEFINITIONS = "{ kpiDefinitions { name userDefined workspaceId } }"
INTROSPECT_METRICS = '{ __type(name: "Metrics") { fields { name description } } }'


async def _tenant(session: AsyncSession, role: str = "editor") -> tuple[Seed, str]:
    seed = await Seed.create(session)
    june = utc(2025, 6, 10)
    await seed.deals(15, status="WON", closed_at=june, deal_type="UPSELL")
    await seed.deals(10, status="LOST", closed_at=june, deal_type="CROSS_SELL")
    _, key = await create_api_key(
        session, organization_id=seed.workspace.organization_id, role=role
    )
    return seed, key


def _typename(body: dict[str, Any], field: str) -> str:
    return str(body["data"][field]["__typename"])


async def test_defined_kpi_answers_by_name_and_stays_private_after_restart(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed, key = await _tenant(session)
        await session.commit()
        ws, org = seed.workspace.id, seed.workspace.organization_id
    async with api_client(engine) as client:
        before = await client.graphql(BY_NAME, {"ws": ws}, key=key)
        defined = await client.graphql(
            DEFINE, {"input": {"organizationId": org, "definition": CUSTOMER_OUTCOMES}}, key=key
        )
        after = await client.graphql(BY_NAME, {"ws": ws}, key=key)
        target = await client.graphql(TARGET, {"ws": ws}, key=key)
        attained = await client.graphql(WITH_TARGET, {"ws": ws}, key=key)
        listed = await client.graphql(DEFINITIONS, key=key)
        not_yet = await client.graphql(AS_FIELD, {"ws": ws}, key=key)
    assert before["data"]["metrics"]["kpi"] is None
    assert "unknown KPI 'customerOutcomes'" in before["errors"][0]["message"]
    assert defined["data"]["defineKpi"]["kpi"] == {
        "name": "customerOutcomes",
        "unit": "RATIO",
        "userDefined": True,
        "workspaceId": None,
    }
    assert after["data"]["metrics"]["kpi"] == {
        "value": 0.6,
        "numerator": 15.0,
        "denominator": 25.0,
        "unit": "RATIO",
    }
    assert _typename(target, "setTarget") == "SetTargetSuccess"
    reached = attained["data"]["metrics"]["kpi"]["target"]
    assert reached["value"] == 0.75 and abs(reached["attainment"] - 0.6 / 0.75) < 1e-12
    names = {d["name"]: d["userDefined"] for d in listed["data"]["kpiDefinitions"]}
    assert names["customerOutcomes"] is True and names["winRate"] is False
    assert "Cannot query field 'customerOutcomes'" in not_yet["errors"][0]["message"]

    # After a restart (the schema is built anew) it is still no field: the schema is shared
    # by every tenant and by unauthenticated introspection (issue #20); kpi(name:) answers.
    async with sessionmaker() as session:
        stranger, stranger_key = await _tenant(session, role="viewer")
        await session.commit()
    async with api_client(engine) as restarted:
        still_no_field = await restarted.graphql(AS_FIELD, {"ws": ws}, key=key)
        by_name = await restarted.graphql(BY_NAME, {"ws": ws}, key=key)
        anonymous = await restarted.graphql(INTROSPECT_METRICS)
        theirs = await restarted.graphql(INTROSPECT_METRICS, key=stranger_key)
        their_list = await restarted.graphql(DEFINITIONS, key=stranger_key)
        their_answer = await restarted.graphql(
            BY_NAME, {"ws": stranger.workspace.id}, key=stranger_key
        )
        deleted = await restarted.graphql(DELETE, {"name": "customerOutcomes"}, key=key)
        gone = await restarted.graphql(BY_NAME, {"ws": ws}, key=key)
    assert "Cannot query field 'customerOutcomes'" in still_no_field["errors"][0]["message"]
    assert by_name["data"]["metrics"]["kpi"]["value"] == 0.6
    for body in (anonymous, theirs):
        fields = {f["name"]: f["description"] for f in body["data"]["__type"]["fields"]}
        assert "winRate" in fields and "kpi" in fields
        assert "customerOutcomes" not in str(body)
    assert "customerOutcomes" not in {d["name"] for d in their_list["data"]["kpiDefinitions"]}
    assert their_answer["data"]["metrics"]["kpi"] is None  # another organization's KPI
    assert "unknown KPI 'customerOutcomes'" in their_answer["errors"][0]["message"]
    assert _typename(deleted, "deleteKpi") == "DeleteKpiSuccess"
    assert gone["data"]["metrics"]["kpi"] is None
    assert "unknown KPI 'customerOutcomes'" in gone["errors"][0]["message"]


async def test_refusals_are_data_with_a_reason(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed, key = await _tenant(session)
        _, viewer = await create_api_key(
            session, organization_id=seed.workspace.organization_id, role="viewer"
        )
        await session.commit()
        ws = seed.workspace.id
    bad = {**CUSTOMER_OUTCOMES, "numerator": {"entity": "deals", "filters": {"colour": ["red"]}}}
    async with api_client(engine) as client:
        invalid = await client.graphql(
            DEFINE, {"input": {"workspaceId": ws, "definition": bad}}, key=key
        )
        clash = await client.graphql(
            DEFINE,
            {"input": {"workspaceId": ws, "definition": {**CUSTOMER_OUTCOMES, "name": "dealsWon"}}},
            key=key,
        )
        both = await client.graphql(
            DEFINE,
            {"input": {"definition": CUSTOMER_OUTCOMES}},
            key=key,
        )
        forbidden = await client.graphql(
            DEFINE, {"input": {"workspaceId": ws, "definition": CUSTOMER_OUTCOMES}}, key=viewer
        )
        missing = await client.graphql(DELETE, {"name": "nothingHere"}, key=key)
    assert invalid["data"]["defineKpi"] == {
        "__typename": "DefineKpiError",
        "message": "numerator.filters.colour: unknown field 'colour' for deals (known: "
        "activityTypes, connections, countries, custom, dealTypes, industries, owners, "
        "pipelines, regions, sources, stages, status, teams, workspaces)",
        "code": "INVALID",
    }
    assert "'dealsWon' is a built-in KPI" in clash["data"]["defineKpi"]["message"]
    assert both["data"]["defineKpi"]["code"] == "INVALID"
    assert "editor or admin needed" in forbidden["errors"][0]["message"]
    assert missing["data"]["deleteKpi"]["code"] == "NOT_FOUND"


async def test_definitions_stay_in_their_tenant(
    engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    async with sessionmaker() as session:
        seed, key = await _tenant(session)
        other, other_key = await _tenant(session)
        sibling = Workspace(organization_id=seed.workspace.organization_id, name="Sibling")
        session.add(sibling)
        await session.commit()
        ws, sibling_id, other_ws = seed.workspace.id, sibling.id, other.workspace.id
    async with api_client(engine) as client:
        defined = await client.graphql(
            DEFINE, {"input": {"workspaceId": ws, "definition": CUSTOMER_OUTCOMES}}, key=key
        )
        own = await client.graphql(BY_NAME, {"ws": ws}, key=key)
        in_sibling = await client.graphql(BY_NAME, {"ws": sibling_id}, key=key)
        in_other_org = await client.graphql(BY_NAME, {"ws": other_ws}, key=other_key)
        listed_other = await client.graphql(DEFINITIONS, key=other_key)
        delete_other = await client.graphql(DELETE, {"name": "customerOutcomes"}, key=other_key)
        same_name_elsewhere = await client.graphql(
            DEFINE,
            {"input": {"workspaceId": other_ws, "definition": CUSTOMER_OUTCOMES}},
            key=other_key,
        )
        clash_in_org = await client.graphql(
            DEFINE,
            {"input": {"workspaceId": sibling_id, "definition": CUSTOMER_OUTCOMES}},
            key=key,
        )
    assert _typename(defined, "defineKpi") == "DefineKpiSuccess"
    assert own["data"]["metrics"]["kpi"]["value"] == 0.6
    assert in_sibling["data"]["metrics"]["kpi"] is None
    assert in_other_org["data"]["metrics"]["kpi"] is None
    assert not [d for d in listed_other["data"]["kpiDefinitions"] if d["userDefined"]]
    assert delete_other["data"]["deleteKpi"]["code"] == "NOT_FOUND"
    assert _typename(same_name_elsewhere, "defineKpi") == "DefineKpiSuccess"
    assert f"already defined in workspace {ws}" in clash_in_org["data"]["defineKpi"]["message"]
