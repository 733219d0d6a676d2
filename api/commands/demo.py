"""`crmkpi demo`: a complete first experience on the embedded default (SQLite).

An agency organization with two client workspaces (New York / USD and Madrid / EUR), the
three CRM simulators started in this process with seeded data (two years of deals with stage
history, activities, leads, FX), a connection to each, a sync with live progress, imported
spend, visitors and surveys, a few targets and an admin API key; then the API and the
dashboard are served until Ctrl-C. ``var/demo.json`` (mode 0600: it holds the demo key)
remembers what was created, so a second run reuses it and only syncs what changed.
"""

# No `from __future__ import annotations`: typer reads these signatures at every start-up
# (api.commands says why).

import asyncio
import calendar
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import pluggy
import typer
from rich.console import Group
from rich.live import Live
from rich.markup import escape

from api.commands.common import console, database, out, run
from api.commands.demo_simulators import simulators
from api.commands.serve import serve
from api.commands.sync import _table as progress_table
from core.connections import get_connection
from core.errors import NotFoundError, ValidationError
from core.models.enums import SyncMode
from core.organizations import create_organization, create_workspace, get_organization
from core.plugins import connector_classes, create_plugin_manager
from core.secrets import Vault, ensure_key_file
from core.settings import DEFAULT_DATA_DIR, Settings, get_settings
from core.sync.connections import create_connection, set_endpoint
from core.sync.runner import SyncOptions, run_sync
from core.tenancy import create_api_key

STATE_FILE = DEFAULT_DATA_DIR / "demo.json"
#: The two client businesses of the demo agency (name, timezone, currency).
CLIENTS = (
    ("Northwind (US)", "America/New_York", "USD"),
    ("Iberia Foods (ES)", "Europe/Madrid", "EUR"),
)
EXAMPLE_QUERY = (
    "{ metrics { salesRevenue(period: {preset: LAST_MONTH}, compareTo: PREVIOUS_PERIOD) "
    "{ value currency comparison { changeRatio } } winRate(period: {preset: LAST_QUARTER}) "
    "{ value numerator denominator } } }"
)


@dataclass(frozen=True)
class DemoConnection:
    workspace: int
    connector: str
    seed: int
    share: float


#: Where api.commands.demo_simulators serves the simulators.
SIMULATOR_HOST = "127.0.0.1"

PLAN = (
    DemoConnection(workspace=0, connector="hubspot", seed=11, share=0.4),
    DemoConnection(workspace=0, connector="salesforce", seed=12, share=0.3),
    DemoConnection(workspace=1, connector="pipedrive", seed=13, share=0.3),
)


async def _tenancy(state: dict[str, Any]) -> dict[str, Any]:
    """Organization, workspaces and key: reused when ``state`` matches the database."""
    async with database(get_settings(), migrate=True) as (_, sessions), sessions() as session:
        if state.get("organization_id"):
            try:
                await get_organization(session, state["organization_id"])
                return state
            except NotFoundError:
                pass  # another database: set up again
        org = await create_organization(session, "Demo Agency")
        workspaces = [
            await create_workspace(
                session, organization_id=org.id, name=name, timezone=tz, currency=cur
            )
            for name, tz, cur in CLIENTS
        ]
        _, plain = await create_api_key(session, organization_id=org.id, role="admin", name="demo")
        await session.commit()
        return {
            "organization_id": org.id,
            "workspace_ids": [w.id for w in workspaces],
            "api_key": plain,
            "connections": {},
        }


async def _connections(
    state: dict[str, Any], urls: dict[str, str], vault: Vault, pm: pluggy.PluginManager
) -> dict[str, str]:
    """One connection per simulator, pointed at this run's simulator URL."""
    classes = connector_classes(pm)
    ids: dict[str, str] = dict(state.get("connections") or {})
    async with database(get_settings()) as (_, sessions), sessions() as session:
        for item in PLAN:
            if item.connector in ids:
                try:  # this run's simulator listens elsewhere: start from its credentials
                    await set_endpoint(
                        session,
                        vault,
                        classes,
                        ids[item.connector],
                        base_url=urls[item.connector],
                        credentials=classes[item.connector].simulator_credentials(),
                    )
                    continue
                except NotFoundError:
                    pass  # deleted since: add it again
            connection = await create_connection(
                session,
                vault,
                classes,
                workspace_id=state["workspace_ids"][item.workspace],
                connector=item.connector,
                credentials=classes[item.connector].simulator_credentials(),
                base_url=urls[item.connector],
                schedule="15m",
            )
            ids[item.connector] = connection.id
        await session.commit()
    return ids


async def _business_data(state: dict[str, Any]) -> None:
    """Spend, visitors and surveys through the validated CSV import; monthly targets."""
    # Only the demo needs these (YAML, the KPI registry): not every crmkpi command's start-up.
    from core.imports import import_kind
    from core.imports.kind import import_csv
    from core.simulation.business import spend_csv, surveys_csv, visitors_csv
    from core.targets import set_target

    today = datetime.now(UTC).date()
    month_start = today.replace(day=1)
    month_end = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    async with database(get_settings()) as (_, sessions), sessions() as session:
        for index, workspace_id in enumerate(state["workspace_ids"]):
            currency = CLIENTS[index][2]
            files = {
                "spend": spend_csv(seed=index, end=today, currency=currency),
                "visitors": visitors_csv(seed=index, end=today),
                "surveys": surveys_csv(seed=index, end=today),
            }
            for kind, text in files.items():
                await import_csv(session, import_kind(kind), workspace_id, text)
            days = calendar.monthrange(today.year, today.month)[1]
            for kpi, value in (
                ("salesRevenue", 2_000_000),
                ("dealsWon", 300),
                ("newLeads", 40 * days),
            ):
                await set_target(
                    session,
                    workspace_id=workspace_id,
                    kpi=kpi,
                    start=month_start,
                    end=month_end,
                    value=value,
                )
        await session.commit()


def _sync_all(ids: dict[str, str], vault: Vault, pm: pluggy.PluginManager) -> None:
    """Sync every connection at once: the simulators are processes of their own, so one
    CRM's request latency overlaps another's mapping and writing."""
    tables: dict[str, Any] = {}

    async def _one(connector: str, connection_id: str, live: Live, db: Any) -> None:
        started = time.monotonic()
        engine, sessions = db
        async with sessions() as session:
            connection = await get_connection(session, connection_id)
            first = connection.last_synced_at is None
        mode = SyncMode.FULL if first else SyncMode.INCREMENTAL

        def progress(_name: str, _stream: Any, stats: Any) -> None:
            title = f"sync {connector} ({mode.value})"
            tables[connector] = progress_table(stats, started, title=title)
            live.update(Group(*tables.values()))

        result = await run_sync(
            connection_id,
            engine=engine,
            pm=pm,
            vault=vault,
            options=SyncOptions(mode=mode, progress=progress),
        )
        title = f"sync {connector}: {result.status.value}"
        tables[connector] = progress_table(result.stats, started, title=title)
        live.update(Group(*tables.values()))

    async def _all(live: Live) -> None:
        # One engine for the three runs: opening the database migrates it, once.
        async with database(get_settings()) as db:
            await asyncio.gather(*(_one(c, i, live, db) for c, i in ids.items()))

    with Live(console=console, refresh_per_second=4, transient=True) as live:
        run(_all(live))
    for table in tables.values():
        out.print(table)


def _load_state(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    os.chmod(path, 0o600)


#: KPIs the dashboard shows; --check asks each of them over the last year and every workspace.
CHECKED_KPIS = (
    "salesRevenue",
    "dealsWon",
    "dealsLost",
    "winRate",
    "averageDealSize",
    "closeRate",
    "opportunitiesCreated",
    "averageSalesCycleDays",
    "pipelineValue",
    "weightedPipelineValue",
    "openDeals",
    "activities",
    "newLeads",
    "leadConversionRate",
    "activeCustomers",
    "nps",
)


async def _check(state: dict[str, Any]) -> list[str]:
    """Ask the dashboard's KPIs through the public GraphQL API; the ones without a number."""
    import httpx

    from api.app import create_app

    fields = " ".join(
        f"{k}(period: {{preset: LAST_365_DAYS}}) {{ value nullReason }}" for k in CHECKED_KPIS
    )
    settings = get_settings().model_copy(update={"scheduler": "off"})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://demo") as http:
            response = await http.post(
                "/graphql",
                json={"query": f"{{ metrics {{ {fields} }} }}"},
                headers={"Authorization": f"Bearer {state['api_key']}"},
            )
    body = response.json()
    if body.get("errors"):
        return [str(e.get("message")) for e in body["errors"]]
    results = body["data"]["metrics"]
    return [
        f"{k}: {(results.get(k) or {}).get('nullReason') or 'no value'}"
        for k in CHECKED_KPIS
        if not isinstance((results.get(k) or {}).get("value"), int | float)
    ]


def _print_summary(state: dict[str, Any], base: str) -> None:
    key = state["api_key"]
    curl = (
        f"curl -s {base}/graphql -H 'Authorization: Bearer {key}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps({'query': EXAMPLE_QUERY})}'"
    )
    out.rule("crmkpi demo")
    out.print(f"[b]Organization[/]  {state['organization_id']}")
    out.print(f"[b]Workspaces[/]    {', '.join(state['workspace_ids'])}")
    out.print(f"[b]API key[/]       {key}")
    # The key in the fragment: browsers never send it to the server (no logs, no proxies);
    # the page keeps it in sessionStorage and removes it from the address bar at once.
    out.print(f"[b]Dashboard[/]     {base}/dashboard/  (paste the API key once)")
    out.print("[b]or open[/]       " + escape(f"{base}/dashboard/#key={key}"))
    out.print(f"[b]GraphiQL[/]      {base}/graphql  (header Authorization: Bearer <API key>)")
    out.print("[b]Example query[/] " + escape(EXAMPLE_QUERY))
    out.print("[b]With curl:[/]")
    out.print(curl, markup=False)
    out.print("Ctrl-C stops the API and the simulators.")


def _allow_simulators() -> Settings:
    """The simulators listen on 127.0.0.1, which the egress policy (core.egress) refuses
    unless listed: the demo lists it, for its syncs and for the API it serves."""
    settings = get_settings()
    if SIMULATOR_HOST not in settings.connection_allowed_hosts:
        allowed = [*settings.connection_allowed_hosts, SIMULATOR_HOST]
        os.environ["CRMKPI_CONNECTION_ALLOWED_HOSTS"] = json.dumps(allowed)
        get_settings.cache_clear()
        settings = get_settings()
    console.print(f"CRMKPI_CONNECTION_ALLOWED_HOSTS={settings.connection_allowed_hosts}")
    return settings


def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    deals: Annotated[int, typer.Option(help="Deals across the three simulated CRMs.")] = 20_000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up, sync, exit.")] = False,
    check: Annotated[
        bool,
        typer.Option("--check", help="Headless: set up, sync, check every dashboard KPI, exit."),
    ] = False,
) -> None:
    """Set up a demo agency with three simulated CRMs, sync them, and serve the API."""
    settings = _allow_simulators()
    if settings.secret_keys is None:  # the key that encrypts CRM credentials, mode 0600
        ensure_key_file(settings.secret_keys_file)
    vault = Vault.from_settings(settings)
    pm = create_plugin_manager()
    state = run(_tenancy(_load_state(STATE_FILE)))
    _save_state(STATE_FILE, state)
    plan = [(item.connector, item.seed, max(10, int(deals * item.share))) for item in PLAN]
    with simulators(plan) as urls:
        for connector, url in urls.items():
            console.print(f"{connector} simulator at {url}")
        state["connections"] = run(_connections(state, urls, vault, pm))
        _save_state(STATE_FILE, state)
        _sync_all(state["connections"], vault, pm)
        run(_business_data(state))
        _print_summary(state, f"http://{settings.host}:{port or settings.port}")
        if check:
            missing = run(_check(state))
            if missing:
                raise ValidationError("demo check failed: " + "; ".join(missing))
            out.print(f"demo check: all {len(CHECKED_KPIS)} dashboard KPIs answered")
            return
        if not no_serve:
            serve(host=None, port=port)
