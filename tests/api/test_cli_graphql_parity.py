"""The CLI and GraphQL are two front ends of one set of use cases (issue #22).

Every management capability is run once through `crmkpi` and once through its GraphQL
mutation, each on an organization of its own set up the same way; both must leave the two
organizations in the same stored state (ids and times aside), and refuse the same bad input
with the same message. The list is the contract: a mutation or a `crmkpi` command missing
from it (or from the documented exceptions) fails the completeness tests at the end. The
cases are tests/api/cli_graphql_cases.py.

The CLI runs in-process (tests.support.cli.run_cli in a thread: its own event loop, engine
and settings, as the command has), so a case costs a fraction of a second, not a process.
"""

from __future__ import annotations

import ast
import json
import shlex
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from graphql import build_schema
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from typer.core import TyperGroup

import connectors.hubspot
import connectors.pipedrive
import connectors.salesforce
from api.cli import app as cli_app
from core.models import (
    ApiKey,
    Connection,
    FxRate,
    Organization,
    Spend,
    SurveyResponse,
    SyncWebhook,
    Target,
    UserKpi,
    Visitors,
    Workspace,
)
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key
from tests.api.cli_graphql_cases import (
    CAPABILITIES,
    CLI_ONLY,
    ELSEWHERE,
    SECRET,
    Capability,
    Ids,
)
from tests.support.api import api_client
from tests.support.cli import run_cli_async

SDL = Path(__file__).parents[2] / "schema.graphql"


def _fill(value: Any, ids: Ids) -> Any:
    if isinstance(value, str):
        for token, id_ in ids.items():
            value = value.replace(f"<{token}>", id_)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


async def _organization(
    sessionmaker: async_sessionmaker[AsyncSession], capability: Capability
) -> tuple[Ids, str]:
    """The common set-up, once per front end: ids by placeholder, and an admin key."""
    async with sessionmaker() as session:
        org = await create_organization(session, "Agency")
        ws = await create_workspace(session, organization_id=org.id, name="Acme")
        _, admin = await create_api_key(session, organization_id=org.id, role="admin", name="a")
        old, _ = await create_api_key(session, organization_id=org.id, role="viewer", name="o")
        conn = Connection(workspace_id=ws.id, connector="hubspot", name="CRM", **capability.before)
        session.add(conn)
        await session.flush()
        ids = {"org": org.id, "ws": ws.id, "conn": conn.id, "key": old.id}
        if capability.prepare is not None:
            await capability.prepare(session, ids)
        await session.commit()
    return ids, admin


def _plain(value: Any, names: Mapping[str, str]) -> Any:
    """A stored value without what differs between the organizations: ids become names,
    times whether they are set."""
    if isinstance(value, datetime):
        return "<time>"
    if isinstance(value, date | Decimal | int | float | bool) or value is None:
        return str(value)
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, dict):
        return {k: _plain(v, names) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v, names) for v in value]
    return repr(value)


#: What a management capability may change, each table with how its rows belong to an
#: organization; ids, hashes, ciphertexts and key use are left out (they differ by construction:
#: only the GraphQL side uses its key).
SKIPPED = {"id", "key_hash", "prefix", "credentials_encrypted", "secret_encrypted", "last_used_at"}


async def _state(sessionmaker: async_sessionmaker[AsyncSession], org_id: str) -> dict[str, Any]:
    async with sessionmaker() as session:
        workspaces = (
            await session.execute(
                select(Workspace.id, Workspace.name).where(Workspace.organization_id == org_id)
            )
        ).all()
        names: dict[str, str] = {org_id: "<org>"} | {id_: f"ws:{n}" for id_, n in workspaces}
        ws_ids = [id_ for id_, _ in workspaces]
        connections = (
            await session.execute(
                select(Connection.id, Connection.name).where(Connection.workspace_id.in_(ws_ids))
            )
        ).all()
        names |= {id_: f"conn:{n}" for id_, n in connections}
        by_org = {Organization: Organization.id, Workspace: Workspace.organization_id}
        by_org |= {ApiKey: ApiKey.organization_id, UserKpi: UserKpi.organization_id}
        by_workspace = (Connection, SyncWebhook, Target, Spend, Visitors, SurveyResponse, FxRate)
        state: dict[str, Any] = {}
        for model, column in [
            *by_org.items(),
            *((m, m.workspace_id) for m in by_workspace),  # type: ignore[attr-defined]
        ]:
            table: Table = model.__table__  # type: ignore[attr-defined]
            wanted = column == org_id if model in by_org else column.in_(ws_ids)
            rows = (await session.execute(select(table).where(wanted))).mappings().all()
            state[table.name] = sorted(
                (
                    json.dumps(
                        {k: _plain(v, names) for k, v in row.items() if k not in SKIPPED},
                        sort_keys=True,
                    )
                    for row in rows
                ),
            )
        return state


@pytest.mark.parametrize("capability", CAPABILITIES, ids=[c.name for c in CAPABILITIES])
async def test_cli_and_graphql_do_the_same(
    capability: Capability,
    database_url: str,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRMKPI_SECRET_KEYS", SECRET)
    by_cli, _ = await _organization(sessionmaker, capability)
    by_graphql, key = await _organization(sessionmaker, capability)
    initial = await _state(sessionmaker, by_cli["org"])
    assert await _state(sessionmaker, by_graphql["org"]) == initial

    file = tmp_path / "input.json"
    file.write_text(capability.file, encoding="utf-8")
    args = [_fill(a, by_cli | {"file": str(file)}) for a in shlex.split(capability.cli)]
    env = {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}
    cli = await run_cli_async(args, env)
    code, stdout, stderr = cli.returncode, cli.stdout, cli.stderr

    signature = ", ".join(f"${name}: {type_}" for name, (type_, _) in capability.variables.items())
    imports = capability.field_name in ("importSpend", "importVisitors", "importSurveys")
    error = "... on ImportFailed { message }" if imports else "... on MutationError { message }"
    document = (
        f"mutation{f'({signature})' if signature else ''} {{ result: "
        f"{_fill(capability.mutation, by_graphql)} {{ __typename {error} }} }}"
    )
    variables = {
        name: _fill(value, by_graphql) for name, (_, value) in capability.variables.items()
    }
    plugins = [connectors.hubspot, connectors.pipedrive, connectors.salesforce]  # the CLI's
    async with api_client(engine, plugins=plugins, secret_keys=SECRET) as api:
        answer = await api.graphql(document, variables, key=key)
    assert "errors" not in answer, answer
    result = answer["data"]["result"]

    if capability.refused is not None:
        assert code == 1, (stdout, stderr)
        assert result["__typename"].endswith(("Error", "Failed")), result
        assert capability.refused in result["message"], result
        assert result["message"] in stderr, (result["message"], stderr)  # word for word
        assert await _state(sessionmaker, by_cli["org"]) == initial
        assert await _state(sessionmaker, by_graphql["org"]) == initial
        return
    assert code == 0, stderr
    assert result["__typename"].endswith("Success"), result
    after = await _state(sessionmaker, by_cli["org"])
    assert after == await _state(sessionmaker, by_graphql["org"])
    assert after != initial, "the capability changed nothing"


def _commands(group: TyperGroup, prefix: str = "") -> Iterator[str]:
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield f"{prefix}{name}"


def _command_of(root: Any, args: list[str]) -> str:
    group = root
    words: list[str] = []
    for arg in args:
        assert isinstance(group, TyperGroup)
        group = group.commands[arg]
        words.append(arg)
        if not isinstance(group, TyperGroup):
            return " ".join(words)
    raise AssertionError(f"{args} names no command")


def test_every_mutation_is_walked() -> None:
    """A mutation without a `crmkpi` counterpart walked above fails here (read from
    schema.graphql, which tests/api/test_schema.py keeps equal to the served schema)."""
    mutation = build_schema(SDL.read_text(encoding="utf-8")).mutation_type
    assert mutation is not None
    fields = set(mutation.fields)
    walked = {c.field_name for c in CAPABILITIES}
    assert fields, "no mutation found"
    assert fields - walked - set(ELSEWHERE) == set(), "mutations without a CLI walk"
    assert walked | set(ELSEWHERE) <= fields


def test_every_command_is_walked() -> None:
    """A `crmkpi` command without a mutation (and no reason to have none) fails here."""
    root = typer.main.get_command(cli_app)
    commands = set(_commands(root))  # type: ignore[arg-type]
    walked = {_command_of(root, shlex.split(c.cli)) for c in CAPABILITIES}
    elsewhere = {command for command, _ in ELSEWHERE.values()}
    assert commands - walked - elsewhere - set(CLI_ONLY) == set()
    assert (walked | elsewhere | set(CLI_ONLY)) <= commands


#: What queries a database: a command calls a use case in core/ instead (issue #22).
_QUERYING = {"get", "execute", "scalar", "scalars", "add", "add_all", "delete", "merge"}


def test_no_command_queries_the_database_itself() -> None:
    """`crmkpi` commands only parse, call a core use case and render: no SQL of their own
    (sqlalchemy only for the engine and session types), no ORM call on a session."""
    found = []
    for path in sorted((Path(__file__).parents[2] / "api" / "commands").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module or "" if isinstance(node, ast.ImportFrom) else ""
            if module.startswith("sqlalchemy") and module != "sqlalchemy.ext.asyncio":
                found.append(f"{path.name}: imports {module}")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _QUERYING
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "session"
            ):
                found.append(f"{path.name}:{node.lineno}: session.{node.func.attr}(...)")
    assert found == []
