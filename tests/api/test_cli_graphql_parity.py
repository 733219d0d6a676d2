"""The CLI and GraphQL are two front ends of one set of use cases (issue #22).

Every management capability is run once through `crmkpi` and once through its GraphQL
mutation, each on an organization of its own set up the same way; both must leave the two
organizations in the same stored state (ids and times aside), and refuse the same bad input
with the same message. The list is the contract: a mutation or a `crmkpi` command missing
from it (or from the documented exceptions) fails the completeness tests at the end.

The CLI runs in-process (tests.support.cli.run_cli in a thread: its own event loop, engine
and settings, as the command has), so a case costs a fraction of a second, not a process.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from cryptography.fernet import Fernet
from graphql import build_schema
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from typer.core import TyperGroup

import connectors.hubspot
import connectors.pipedrive
import connectors.salesforce
from api.cli import app as cli_app
from api.schema import schema_sdl
from core.metrics import build_registry
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
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.settings import Settings
from core.sync.notify import set_sync_webhook
from core.tenancy import create_api_key
from core.user_kpis import define_kpi
from tests.core.metrics.test_user_kpis import CUSTOMER_OUTCOMES
from tests.support.api import api_client
from tests.support.cli import run_cli_async

SAMPLES = Path(__file__).parents[2] / "docs" / "samples"
SECRET = Fernet.generate_key().decode()
FX_CSV = "day,currency,rate\n2026-01-05,EUR,1.08\n2026-01-05,GBP,1.27\n"
MAPPINGS = {"stage_kinds": {"s3": "LOST"}}
Ids = dict[str, str]
Prepare = Callable[[AsyncSession, Ids], Awaitable[None]]


@dataclass(frozen=True)
class Capability:
    name: str
    #: `crmkpi` arguments (split as a shell would); <org>, <ws>, <conn>, <key> (a viewer
    #: key to revoke) and <file> (``file``, written to a temporary file) are replaced.
    cli: str
    #: The mutation's field with its input, the same placeholders replaced.
    mutation: str
    #: GraphQL variables ({"c": ("JSON!", value)}), placeholders replaced in values.
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: The content of <file>.
    file: str = ""
    #: State both organizations get first (beyond the common set-up).
    prepare: Prepare | None = None
    #: Columns of the connection before (a fresh one's otherwise).
    before: dict[str, Any] = field(default_factory=dict)
    #: A refusal: the message (or part of it) both front ends must give.
    refused: str | None = None

    @property
    def field_name(self) -> str:
        return self.mutation.split("(", 1)[0]


async def _webhook(session: AsyncSession, ids: Ids) -> None:
    await set_sync_webhook(
        session, Vault.from_settings(Settings(secret_keys=SECRET)), ids["ws"], "https://x.test/h"
    )


async def _kpi(session: AsyncSession, ids: Ids) -> None:
    await define_kpi(
        session,
        build_registry(create_plugin_manager()),
        organization_id=ids["org"],
        workspace_id=ids["ws"],
        definition=CUSTOMER_OUTCOMES,
    )


TARGET_INPUT = 'workspaceId: "<ws>", periodStart: "2026-01-01", periodEnd: "2026-04-01"'
TARGET_ARGS = " --workspace <ws> --start 2026-01-01 --end 2026-04-01"

CAPABILITIES = [
    # Organizations and workspaces
    Capability(
        "rename the organization",
        "org update <org> --name 'Agency Group'",
        'updateOrganization(input: {name: "Agency Group"})',
    ),
    Capability(
        "create a workspace",
        "workspace create --org <org> --name Beta --timezone Asia/Tokyo --currency EUR "
        "--fiscal-start 4 --week-start 7 --inactivity-days 200 --no-contact-days 30",
        'createWorkspace(input: {name: "Beta", timezone: "Asia/Tokyo", currency: "EUR", '
        "fiscalYearStartMonth: 4, weekStart: 7, inactivityDays: 200, noContactDays: 30})",
    ),
    Capability(
        "change a workspace",
        "workspace update <ws> --timezone Europe/Paris --inactivity-days 30",
        'updateWorkspace(input: {id: "<ws>", timezone: "Europe/Paris", inactivityDays: 30})',
    ),
    Capability(
        "a workspace setting out of range",
        "workspace update <ws> --week-start 9",
        'updateWorkspace(input: {id: "<ws>", weekStart: 9})',
        refused="9",
    ),
    Capability(
        "delete a workspace",
        "workspace delete <ws> --yes",
        'deleteWorkspace(input: {id: "<ws>"})',
    ),
    Capability(
        "set the sync webhook",
        "workspace webhook <ws> --url https://93.184.216.34/hook",
        'setSyncWebhook(input: {workspaceId: "<ws>", url: "https://93.184.216.34/hook"})',
    ),
    Capability(
        "remove the sync webhook",
        "workspace webhook <ws> --off",
        'setSyncWebhook(input: {workspaceId: "<ws>", url: null})',
        prepare=_webhook,
    ),
    # API keys
    Capability(
        "create an API key",
        "apikey create --org <org> --role editor --workspace <ws> --name ci",
        'createApiKey(input: {name: "ci", role: "editor", workspaceIds: ["<ws>"]})',
    ),
    Capability(
        "an unknown role",
        "apikey create --org <org> --role owner",
        'createApiKey(input: {role: "owner"})',
        refused="owner",
    ),
    Capability(
        "revoke an API key",
        "apikey revoke <key>",
        'revokeApiKey(input: {id: "<key>"})',
    ),
    # Connections
    Capability(
        "add a connection",
        "connection add --workspace <ws> --connector hubspot --credential access_token=pat-1 "
        "--base-url http://127.0.0.1:9 --name Second --schedule 1h --lookback-minutes 30",
        'addConnection(input: {workspaceId: "<ws>", connector: "hubspot", credentials: '
        '[{name: "access_token", value: "pat-1"}], baseUrl: "http://127.0.0.1:9", '
        'name: "Second", schedule: "1h", lookbackMinutes: 30})',
    ),
    Capability(
        "an unknown connector",
        "connection add --workspace <ws> --connector dynamics --credential token=x",
        'addConnection(input: {workspaceId: "<ws>", connector: "dynamics", credentials: '
        '[{name: "token", value: "x"}]})',
        refused="dynamics",
    ),
    Capability(
        "a schedule at creation that is not one",
        "connection add --workspace <ws> --connector hubspot --credential access_token=pat-1 "
        "--schedule soon",
        'addConnection(input: {workspaceId: "<ws>", connector: "hubspot", credentials: '
        '[{name: "access_token", value: "pat-1"}], schedule: "soon"})',
        refused="soon",
    ),
    Capability(
        "a connection name too long",
        "connection add --workspace <ws> --connector hubspot --credential access_token=pat-1 "
        f"--name {'n' * 201}",
        'addConnection(input: {workspaceId: "<ws>", connector: "hubspot", credentials: '
        f'[{{name: "access_token", value: "pat-1"}}], name: "{"n" * 201}"}})',
        refused="connection name",
    ),
    Capability(
        "schedule",
        "connection schedule <conn> --every 1h",
        'setConnectionSchedule(input: {id: "<conn>", every: "1h"})',
    ),
    Capability(
        "schedule by cron",
        "connection schedule <conn> --cron '0 6 * * 1-5'",
        'setConnectionSchedule(input: {id: "<conn>", cron: "0 6 * * 1-5"})',
    ),
    Capability(
        "manual syncs only",
        "connection schedule <conn> --off",
        'setConnectionSchedule(input: {id: "<conn>", off: true})',
        before={"schedule": "15m"},
    ),
    Capability(
        "full reconciliation",
        "connection schedule <conn> --full-sync off",
        'setConnectionSchedule(input: {id: "<conn>", fullSync: "off"})',
        before={"schedule": "15m"},
    ),
    Capability(
        "bad interval",
        "connection schedule <conn> --every soon",
        'setConnectionSchedule(input: {id: "<conn>", every: "soon"})',
        refused="soon",
    ),
    Capability(
        "look-back",
        "connection lookback <conn> 30",
        'setConnectionLookback(input: {id: "<conn>", minutes: 30})',
    ),
    Capability(
        "look-back out of range",
        "connection lookback <conn> 20000",
        'setConnectionLookback(input: {id: "<conn>", minutes: 20000})',
        refused="look-back must be between 0 and 10080 minutes, not 20000",
    ),
    Capability(
        "pause",
        "connection pause <conn>",
        'pauseConnection(input: {id: "<conn>", paused: true})',
    ),
    Capability(
        "resume",
        "connection resume <conn>",
        'pauseConnection(input: {id: "<conn>", paused: false})',
        before={"status": "PAUSED"},
    ),
    Capability(
        "field mappings",
        f"connection mappings <conn> '{json.dumps(MAPPINGS)}'",
        'updateConnectionMappings(input: {id: "<conn>", changes: $changes})',
        variables={"changes": ("JSON!", MAPPINGS)},
    ),
    Capability(
        "field mappings of a bad shape",
        "connection mappings <conn> '{\"stage_kinds\": 5}'",
        'updateConnectionMappings(input: {id: "<conn>", changes: $changes})',
        variables={"changes": ("JSON!", {"stage_kinds": 5})},
        refused="changes.stage_kinds must be an object of key: value",
    ),
    Capability(
        "delete a connection",
        "connection delete <conn> --yes",
        'deleteConnection(input: {id: "<conn>"})',
    ),
    Capability(
        "a connection that does not exist",
        "connection pause conn_nope",
        'pauseConnection(input: {id: "conn_nope"})',
        refused="not found",
    ),
    # KPI definitions and targets
    Capability(
        "define a workspace KPI",
        "kpi define <file> --workspace <ws>",
        'defineKpi(input: {workspaceId: "<ws>", definition: $definition})',
        variables={"definition": ("JSON!", CUSTOMER_OUTCOMES)},
        file=json.dumps(CUSTOMER_OUTCOMES),
    ),
    Capability(
        "define an organization KPI",
        "kpi define <file> --organization <org>",
        'defineKpi(input: {organizationId: "<org>", definition: $definition})',
        variables={"definition": ("JSON!", CUSTOMER_OUTCOMES)},
        file=json.dumps(CUSTOMER_OUTCOMES),
    ),
    Capability(
        "a KPI for a workspace and an organization",
        "kpi define <file> --workspace <ws> --organization <org>",
        'defineKpi(input: {workspaceId: "<ws>", organizationId: "<org>", definition: $definition})',
        variables={"definition": ("JSON!", CUSTOMER_OUTCOMES)},
        file=json.dumps(CUSTOMER_OUTCOMES),
        refused="give a workspace or an organization, exactly one",
    ),
    Capability(
        "a KPI named like a built-in one",
        "kpi define <file> --workspace <ws>",
        'defineKpi(input: {workspaceId: "<ws>", definition: $definition})',
        variables={"definition": ("JSON!", {**CUSTOMER_OUTCOMES, "name": "dealsWon"})},
        file=json.dumps({**CUSTOMER_OUTCOMES, "name": "dealsWon"}),
        refused="'dealsWon' is a built-in KPI",
    ),
    Capability(
        "delete a KPI",
        "kpi delete customerOutcomes --organization <org>",
        'deleteKpi(name: "customerOutcomes")',
        prepare=_kpi,
    ),
    Capability(
        "set a target",
        "target set 100 --kpi dealsWon" + TARGET_ARGS,
        f'setTarget(input: {{{TARGET_INPUT}, kpi: "dealsWon", value: "100"}})',
    ),
    Capability(
        "a target of a user-defined KPI",
        "target set 0.4 --kpi customerOutcomes" + TARGET_ARGS,
        f'setTarget(input: {{{TARGET_INPUT}, kpi: "customerOutcomes", value: "0.4"}})',
        prepare=_kpi,
    ),
    Capability(
        "a target of an unknown KPI",
        "target set 100 --kpi dealsWonn" + TARGET_ARGS,
        f'setTarget(input: {{{TARGET_INPUT}, kpi: "dealsWonn", value: "100"}})',
        refused="unknown KPI 'dealsWonn'",
    ),
    # Imports
    *(
        Capability(
            f"import {kind}",
            f"import {kind} --workspace <ws> <file>",
            f'import{kind.title()}(input: {{workspaceId: "<ws>", csv: $csv}})',
            variables={"csv": ("String!", (SAMPLES / f"{kind}.csv").read_text())},
            file=(SAMPLES / f"{kind}.csv").read_text(),
        )
        for kind in ("spend", "visitors", "surveys")
    ),
    Capability(
        "import FX rates",
        "import fx --workspace <ws> <file>",
        'importFx(input: {workspaceId: "<ws>", csv: $csv})',
        variables={"csv": ("String!", FX_CSV)},
        file=FX_CSV,
    ),
    Capability(
        "FX rates with a bad rate",
        "import fx --workspace <ws> <file>",
        'importFx(input: {workspaceId: "<ws>", csv: $csv})',
        variables={"csv": ("String!", "2026-01-05,EUR,-1\n")},
        file="2026-01-05,EUR,-1\n",
        refused="line 1: the rate must be positive",
    ),
]

#: Capabilities both front ends have, walked by other tests because they need a live CRM.
ELSEWHERE = {
    "triggerSync": ("sync", "tests/api/test_cli_sync.py, tests/api/test_connection_sync.py"),
    "verifyCredentials": (
        "connection check",
        "tests/api/test_cli_capabilities.py, tests/api/test_connection_capabilities.py",
    ),
}
#: `crmkpi` commands without a mutation, and why.
CLI_ONLY = {
    "org create": "an API key belongs to an organization: the operator makes organizations",
    "connection list": "a query in GraphQL (connections)",
    "apikey list": "a query in GraphQL (apiKeys)",
    "kpi list": "a query in GraphQL (kpiDefinitions)",
    "connectors list": "the installed plugins, an operator's view (no management)",
    "db upgrade": "operations",
    "serve": "operations",
    "worker": "operations",
    "demo": "operations",
    "schema": "operations",
    "catalogue": "operations",
    "simulate": "operations",
}


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


def _command_of(args: list[str]) -> str:
    group = typer.main.get_command(cli_app)
    words: list[str] = []
    for arg in args:
        assert isinstance(group, TyperGroup)
        group = group.commands[arg]
        words.append(arg)
        if not isinstance(group, TyperGroup):
            return " ".join(words)
    raise AssertionError(f"{args} names no command")


def test_every_mutation_is_walked() -> None:
    """A mutation without a `crmkpi` counterpart walked above fails here."""
    mutation = build_schema(schema_sdl()).mutation_type
    assert mutation is not None
    fields = set(mutation.fields)
    walked = {c.field_name for c in CAPABILITIES}
    assert fields, "no mutation found"
    assert fields - walked - set(ELSEWHERE) == set(), "mutations without a CLI walk"
    assert walked | set(ELSEWHERE) <= fields


def test_every_command_is_walked() -> None:
    """A `crmkpi` command without a mutation (and no reason to have none) fails here."""
    commands = set(_commands(typer.main.get_command(cli_app)))  # type: ignore[arg-type]
    walked = {_command_of(shlex.split(c.cli)) for c in CAPABILITIES}
    elsewhere = {command for command, _ in ELSEWHERE.values()}
    assert commands - walked - elsewhere - set(CLI_ONLY) == set()
    assert (walked | elsewhere | set(CLI_ONLY)) <= commands
