"""Stored user-defined KPIs: replace in place, one name per organization, what a scope sees,
and definition files (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFoundError, ValidationError
from core.metrics import build_registry
from core.models import UserKpi, Workspace
from core.user_kpis import (
    define_kpi,
    delete_kpi,
    list_kpis,
    read_definition,
    scope_kpis,
)
from tests.core.metrics.factory import Seed
from tests.core.metrics.test_user_kpis import CUSTOMER_OUTCOMES

REGISTRY = build_registry()


def _named(name: str, unit: str = "RATIO") -> dict[str, object]:
    return {**CUSTOMER_OUTCOMES, "name": name, "unit": unit}


async def test_define_replaces_in_place_and_names_are_unique_per_organization(
    session: AsyncSession,
) -> None:
    seed = await Seed.create(session)
    org, ws = seed.workspace.organization_id, seed.workspace.id
    first = await define_kpi(
        session, REGISTRY, organization_id=org, workspace_id=ws, definition=_named("outcomes")
    )
    changed = {**_named("outcomes"), "description": "Changed."}
    again = await define_kpi(
        session, REGISTRY, organization_id=org, workspace_id=ws, definition=changed
    )
    assert again.id == first.id and again.description == "Changed."
    with pytest.raises(ValidationError, match=f"already defined in workspace {ws}"):
        await define_kpi(
            session, REGISTRY, organization_id=org, workspace_id=None, definition=changed
        )
    other = await Seed.create(session)
    with pytest.raises(NotFoundError, match="workspace"):
        await define_kpi(
            session,
            REGISTRY,
            organization_id=org,
            workspace_id=other.workspace.id,
            definition=_named("x"),
        )
    assert [r.name for r in await list_kpis(session, org)] == ["outcomes"]
    with pytest.raises(NotFoundError):
        await delete_kpi(session, organization_id=org, name="outcomes", workspace_ids=set())
    await delete_kpi(session, organization_id=org, name="outcomes", workspace_ids={ws})
    assert await list_kpis(session, org) == []


async def test_what_a_scope_sees(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    org, ws = seed.workspace.organization_id, seed.workspace.id
    sibling = Workspace(organization_id=org, name="Sibling")
    session.add(sibling)
    await session.flush()
    for name, where in (("orgWide", None), ("mainOnly", ws), ("siblingOnly", sibling.id)):
        await define_kpi(
            session, REGISTRY, organization_id=org, workspace_id=where, definition=_named(name)
        )
    stranger = await Seed.create(session)
    await define_kpi(
        session,
        REGISTRY,
        organization_id=stranger.workspace.organization_id,
        workspace_id=None,
        definition=_named("orgWide", "SCORE"),
    )

    async def names(*workspaces: str) -> list[str]:
        return [k.definition.name for k in await scope_kpis(session, REGISTRY, workspaces)]

    assert await names(ws) == ["mainOnly", "orgWide"]
    assert await names(sibling.id) == ["orgWide", "siblingOnly"]
    assert await names(ws, sibling.id) == ["orgWide"]  # a roll-up: organization KPIs only
    (theirs,) = await scope_kpis(session, REGISTRY, [stranger.workspace.id])
    assert theirs.definition.unit.value == "SCORE"  # their own definition of the same name
    # A stored declaration that no longer compiles is left out, not an error.
    await session.execute(
        update(UserKpi).where(UserKpi.name == "mainOnly").values(definition={"name": "mainOnly"})
    )
    assert await names(ws) == ["orgWide"]


def test_definition_files(tmp_path: Path) -> None:
    (tmp_path / "k.yml").write_text("name: a\nunit: COUNT\n", "utf-8")
    (tmp_path / "k.json").write_text(json.dumps(CUSTOMER_OUTCOMES), "utf-8")
    (tmp_path / "bad.yaml").write_text("name: [a\n", "utf-8")
    assert read_definition(tmp_path / "k.yml") == {"name": "a", "unit": "COUNT"}
    assert read_definition(tmp_path / "k.json") == CUSTOMER_OUTCOMES
    with pytest.raises(ValidationError, match=r"bad\.yaml is not valid YAML"):
        read_definition(tmp_path / "bad.yaml")
    with pytest.raises(ValidationError, match="cannot read"):
        read_definition(tmp_path / "missing.json")
