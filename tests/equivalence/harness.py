"""One seeded business in three CRMs: the simulators on sockets, a full sync of each into its
own workspace of one database, and the imported figures CRMs do not hold.

The business is core.simulation.dataset's, generated once per CRM from the same seed (the
simulators adjust their copy, e.g. Salesforce drops modification stamps past the anchor);
spend, visitors and surveys are core.simulation.business's CSVs, imported into every
workspace through the same validated import as a user's files.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from contextlib import ExitStack
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

import connectors.hubspot as hubspot_plugin
import connectors.pipedrive as pipedrive_plugin
import connectors.salesforce as salesforce_plugin
from connectors.hubspot.connector import HubSpotConnector
from connectors.hubspot.simulator import create_app as hubspot_app
from connectors.hubspot.simulator import create_simulator as hubspot_simulator
from connectors.hubspot.simulator.render import COST_PROPERTY
from connectors.pipedrive.connector import PipedriveConnector
from connectors.pipedrive.simulator import PipedriveSimulator
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.simulator import SalesforceSimulator
from connectors.salesforce.simulator.sales import COST_FIELD, MRR_FIELD
from core.imports import import_kind
from core.imports.kind import import_csv
from core.models import Connection, FxRate, Organization, Workspace
from core.models.enums import SyncStatus
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.simulation.business import spend_csv, surveys_csv, visitors_csv
from core.simulation.dataset import Dataset, generate
from tests.support.server import serve
from tests.support.syncing import syncer

SEED = 24
DEALS = 320
DAYS = 240
#: Everything the business did happened before this instant (the KPIs' "now" and asOf).
ANCHOR = datetime(2025, 2, 1, tzinfo=UTC)
CRMS = ("hubspot", "pipedrive", "salesforce")
#: Short enough that customers are lost and won back within the business's history.
INACTIVITY_DAYS = 90

#: Lead statuses the simulators use, as lifecycle kinds: Salesforce and Pipedrive have no
#: lifecycle of their own, so the test configures the mapping a user would.
LEAD_STATUS = {"Closed - Converted": "sql", "Converted": "sql"}
MAPPINGS: dict[str, dict[str, Any]] = {
    # The simulated portal keeps the cost of sale in a custom deal property.
    "hubspot": {"deal_attributes": {"cost": COST_PROPERTY}},
    "pipedrive": {"lifecycle": LEAD_STATUS},
    # The simulated org keeps them in custom Opportunity fields, as an admin would add them.
    "salesforce": {
        "lifecycle": LEAD_STATUS,
        "deal_attributes": {"recurring_amount": MRR_FIELD, "cost": COST_FIELD},
    },
}


def business() -> Dataset:
    return generate(seed=SEED, deals=DEALS, days=DAYS, anchor=ANCHOR)


def fast_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CRMs' real allowances would make a sync of local simulators wait."""
    for cls in (HubSpotConnector, PipedriveConnector, SalesforceConnector):
        policy = cls.rate_limit
        monkeypatch.setattr(
            cls, "rate_limit", dataclasses.replace(policy, requests=100_000, per_seconds=1.0)
        )


def _serve(crm: str, servers: ExitStack, timezone: str) -> tuple[str, Mapping[str, str]]:
    """Serve ``crm``'s simulator of the business; its base URL and credentials. The
    Salesforce org's time zone is the business's (its tasks' due dates are local days)."""
    if crm == "hubspot":
        hub = hubspot_simulator(data=business())
        return servers.enter_context(serve(hubspot_app(simulator=hub))), {
            "access_token": HubSpotConnector.simulator_credentials()["access_token"]
        }
    if crm == "pipedrive":
        pipe = PipedriveSimulator(business())
        return servers.enter_context(serve(pipe.asgi())), PipedriveConnector.simulator_credentials()
    sales = SalesforceSimulator(business(), timezone=timezone)
    return servers.enter_context(serve(sales.app)), SalesforceConnector.simulator_credentials()


async def _import_figures(session: AsyncSession, workspace_id: str) -> None:
    end = ANCHOR.date()
    for kind, text in (
        ("spend", spend_csv(seed=SEED, end=end, days=DAYS)),
        ("visitors", visitors_csv(seed=SEED, end=end, days=DAYS)),
        ("surveys", surveys_csv(seed=SEED, end=end, days=DAYS, responses=400)),
    ):
        await import_csv(session, import_kind(kind), workspace_id, text)


async def _fx_rates(session: AsyncSession, workspace_id: str) -> None:
    """Pipedrive holds no exchange rates: the workspace gets the business's, as a user
    would import them (1 unit of the currency in USD, per day)."""
    session.add_all(
        FxRate(
            workspace_id=workspace_id,
            base_currency="USD",
            currency=rate.currency,
            day=rate.day,
            rate=rate.usd,
        )
        for rate in business().fx_rates
    )
    await session.flush()


async def sync_all(
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    vault: Vault,
    servers: ExitStack,
    timezone: str,
) -> dict[str, str]:
    """Three workspaces in ``timezone`` (USD), one per CRM, fully synced: CRM -> workspace id."""
    pm = create_plugin_manager(
        load_entrypoints=False, plugins=[hubspot_plugin, pipedrive_plugin, salesforce_plugin]
    )
    run = syncer(engine, pm, vault)
    workspaces: dict[str, str] = {}
    async with sessionmaker() as session:
        org = Organization(name="Same facts")
        session.add(org)
        await session.flush()
        connections: dict[str, str] = {}
        for crm in CRMS:
            workspace = Workspace(
                organization_id=org.id,
                name=crm,
                timezone=timezone,
                currency="USD",
                inactivity_days=INACTIVITY_DAYS,
            )
            session.add(workspace)
            await session.flush()
            url, credentials = _serve(crm, servers, timezone)
            connection = Connection(
                workspace_id=workspace.id,
                connector=crm,
                name=crm,
                base_url=url,
                credentials_encrypted=vault.encrypt(dict(credentials)),
                mappings=MAPPINGS[crm] or None,
            )
            session.add(connection)
            await session.flush()
            await _import_figures(session, workspace.id)
            if crm == "pipedrive":
                await _fx_rates(session, workspace.id)
            workspaces[crm] = workspace.id
            connections[crm] = connection.id
        await session.commit()
    for crm, connection_id in connections.items():
        result = await run(connection_id, full=True)
        assert result.status is SyncStatus.SUCCEEDED, (crm, result)
    return workspaces


PERIOD_START, PERIOD_END = date(2024, 10, 1), date(2025, 1, 1)
