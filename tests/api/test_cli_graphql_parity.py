"""The CLI and GraphQL are two front ends of one set of use cases (issue #22).

Each management capability below is run once through `crmkpi` and once through its GraphQL
mutation, on two connections in the same state; both must leave the same stored state, and
refuse the same bad input with the same message. The list is the contract: a capability
added to one front end belongs here with its counterpart.

(So far: a connection's schedule, full reconciliation, look-back, pause and resume; see the
issue for the capabilities still to move behind core services.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Connection
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key
from tests.api.test_cli import crmkpi
from tests.support.api import api_client

#: The columns a connection's management capabilities change.
STATE = ("schedule", "full_sync_schedule", "lookback_minutes", "status")


@dataclass(frozen=True)
class Capability:
    name: str
    #: `crmkpi` arguments; "{id}" is the connection's id.
    cli: tuple[str, ...]
    #: The mutation's field with its input ($id is the connection's id).
    mutation: str
    #: The stored state after it (only the columns that must change).
    expect: dict[str, Any]
    #: The state before it, when not a fresh connection's.
    before: dict[str, Any] = field(default_factory=dict)
    #: Whether the input is refused (then `expect` holds the message both must give).
    refused: bool = False


CAPABILITIES = [
    Capability(
        "schedule",
        ("connection", "schedule", "{id}", "--every", "1h"),
        'setConnectionSchedule(input: {id: $id, every: "1h"})',
        {"schedule": "1h"},
    ),
    Capability(
        "schedule by cron",
        ("connection", "schedule", "{id}", "--cron", "0 6 * * 1-5"),
        'setConnectionSchedule(input: {id: $id, cron: "0 6 * * 1-5"})',
        {"schedule": "0 6 * * 1-5"},
    ),
    Capability(
        "manual syncs only",
        ("connection", "schedule", "{id}", "--off"),
        "setConnectionSchedule(input: {id: $id, off: true})",
        {"schedule": None},
        before={"schedule": "15m"},
    ),
    Capability(
        "full reconciliation",
        ("connection", "schedule", "{id}", "--full-sync", "off"),
        'setConnectionSchedule(input: {id: $id, fullSync: "off"})',
        {"full_sync_schedule": "off", "schedule": "15m"},
        before={"schedule": "15m"},
    ),
    Capability(
        "look-back",
        ("connection", "lookback", "{id}", "30"),
        "setConnectionLookback(input: {id: $id, minutes: 30})",
        {"lookback_minutes": 30},
    ),
    Capability(
        "pause",
        ("connection", "pause", "{id}"),
        "pauseConnection(input: {id: $id, paused: true})",
        {"status": "PAUSED"},
    ),
    Capability(
        "resume",
        ("connection", "resume", "{id}"),
        "pauseConnection(input: {id: $id, paused: false})",
        {"status": "ACTIVE"},
        before={"status": "PAUSED"},
    ),
    Capability(
        "look-back out of range",
        ("connection", "lookback", "{id}", "20000"),
        "setConnectionLookback(input: {id: $id, minutes: 20000})",
        {"message": "look-back must be between 0 and 10080 minutes, not 20000"},
        refused=True,
    ),
    Capability(
        "bad interval",
        ("connection", "schedule", "{id}", "--every", "soon"),
        'setConnectionSchedule(input: {id: $id, every: "soon"})',
        {"message": "soon"},
        refused=True,
    ),
]


async def _connection(
    sessionmaker: async_sessionmaker[AsyncSession], workspace_id: str, before: dict[str, Any]
) -> str:
    async with sessionmaker() as session:
        row = Connection(workspace_id=workspace_id, connector="hubspot", name="CRM", **before)
        session.add(row)
        await session.commit()
        return row.id


async def _state(
    sessionmaker: async_sessionmaker[AsyncSession], connection_id: str
) -> dict[str, Any]:
    async with sessionmaker() as session:
        row = await session.get(Connection, connection_id)
        assert row is not None
        return {column: getattr(row, column) for column in STATE}


@pytest.mark.parametrize("capability", CAPABILITIES, ids=[c.name for c in CAPABILITIES])
async def test_cli_and_graphql_do_the_same(
    capability: Capability,
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
) -> None:
    async with sessionmaker() as session:
        org = await create_organization(session, "Agency")
        ws = await create_workspace(session, organization_id=org.id, name="Acme")
        _, key = await create_api_key(session, organization_id=org.id, role="editor")
        await session.commit()
    by_cli = await _connection(sessionmaker, ws.id, capability.before)
    by_graphql = await _connection(sessionmaker, ws.id, capability.before)
    initial = await _state(sessionmaker, by_cli)

    env = {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}
    args = [a.replace("{id}", by_cli) for a in capability.cli]
    cli = crmkpi(*args, env=env, cwd=tmp_path)

    field_name = capability.mutation.split("(", 1)[0]
    document = (
        f"mutation($id: ID!) {{ result: {capability.mutation} {{ __typename "
        f"... on MutationError {{ message }} }} }}"
    )
    async with api_client(engine) as api:
        answer = await api.graphql(document, {"id": by_graphql}, key=key)
    assert "errors" not in answer, answer
    result = answer["data"]["result"]

    if capability.refused:
        assert cli.returncode == 1, cli.stdout
        assert result["__typename"].endswith("Error"), (field_name, result)
        assert capability.expect["message"] in cli.stderr
        assert capability.expect["message"] in result["message"]
        assert result["message"] in cli.stderr  # word for word
        assert await _state(sessionmaker, by_cli) == initial
        assert await _state(sessionmaker, by_graphql) == initial
        return
    assert cli.returncode == 0, cli.stderr
    assert result["__typename"].endswith("Success"), (field_name, result)
    after_cli = await _state(sessionmaker, by_cli)
    after_graphql = await _state(sessionmaker, by_graphql)
    assert after_cli == after_graphql
    assert {k: after_cli[k] for k in capability.expect} == capability.expect
    unchanged = {k: v for k, v in initial.items() if k not in capability.expect}
    assert {k: after_cli[k] for k in unchanged} == unchanged


def test_every_connection_mutation_has_a_cli_counterpart() -> None:
    """The mutations of this scope, each walked above (a new one must join the list)."""
    walked = {c.mutation.split("(", 1)[0] for c in CAPABILITIES}
    assert walked == {"setConnectionSchedule", "setConnectionLookback", "pauseConnection"}
