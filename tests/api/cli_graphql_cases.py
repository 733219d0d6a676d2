"""The management capabilities the CLI/GraphQL parity test walks (issue #22), each once
through `crmkpi` and once through its mutation, and the documented exceptions.

A capability added to either front end belongs here with its counterpart:
tests/api/test_cli_graphql_parity.py fails for a mutation or a command in neither list.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import build_registry
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.settings import Settings
from core.sync.notify import set_sync_webhook
from core.user_kpis import define_kpi
from tests.core.metrics.test_user_kpis import CUSTOMER_OUTCOMES

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
    "connectors list": "a query in GraphQL (connectors)",
    "db upgrade": "operations",
    "serve": "operations",
    "worker": "operations",
    "demo": "operations",
    "schema": "operations",
    "catalogue": "operations",
    "simulate": "operations",
}
