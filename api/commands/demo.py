"""`crmkpi demo`: a complete first experience on the embedded default (SQLite).

It creates (once) an agency organization with two client workspaces and an API key,
remembers them in ``var/demo.json`` (mode 0600, since it holds the demo key) so a second
run reuses everything, prints how to query, and serves the API until Ctrl-C.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from sqlalchemy.ext.asyncio import AsyncSession

from api.commands.common import database, out, run
from api.commands.serve import serve
from core.imports import IMPORT_KINDS, import_csv
from core.models import Organization
from core.organizations import create_organization, create_workspace
from core.secrets import ensure_key_file
from core.settings import DEFAULT_DATA_DIR, get_settings
from core.tenancy import create_api_key

#: Sample imports (docs/imports.md) loaded into the first demo client.
SAMPLES = Path(__file__).parents[2] / "docs" / "samples"
STATE_FILE = DEFAULT_DATA_DIR / "demo.json"
#: The two client businesses of the demo agency (name, timezone, currency).
CLIENTS = (
    ("Northwind (US)", "America/New_York", "USD"),
    ("Iberia Foods (ES)", "Europe/Madrid", "EUR"),
)
EXAMPLE_QUERY = (
    "{ viewer { organizationId role workspaceIds } workspaces { id name timezone currency } }"
)


async def _setup(state: dict[str, Any]) -> dict[str, Any]:
    """The demo's ids and key: ``state`` when it still matches the database, else new ones."""
    async with database(get_settings(), migrate=True) as (_, sessions), sessions() as session:
        if state.get("organization_id") and await session.get(
            Organization, state["organization_id"]
        ):
            return state
        org = await create_organization(session, "Demo Agency")
        workspaces = [
            await create_workspace(
                session, organization_id=org.id, name=name, timezone=tz, currency=cur
            )
            for name, tz, cur in CLIENTS
        ]
        _, plain = await create_api_key(session, organization_id=org.id, role="admin", name="demo")
        await _import_samples(session, workspaces[0].id)
        await session.commit()
        return {
            "organization_id": org.id,
            "workspace_ids": [w.id for w in workspaces],
            "api_key": plain,
        }


async def _import_samples(session: AsyncSession, workspace_id: str) -> None:
    """Spend, visitors and surveys of docs/samples/ (when present) into the first client."""
    for kind in IMPORT_KINDS.values():
        sample = SAMPLES / f"{kind.name}.csv"
        if sample.exists():
            await import_csv(session, kind, workspace_id, sample.read_text(encoding="utf-8"))


def _load_state(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text())) if path.exists() else {}


def _save_state(path: Path, state: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
    os.chmod(path, 0o600)


def demo(
    port: Annotated[int | None, typer.Option(help="Port to serve on.")] = None,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Set up, print, exit.")] = False,
) -> None:
    """Set up a demo agency on SQLite, print how to query it, and serve the API."""
    settings = get_settings()
    if settings.secret_keys is None:  # the key that encrypts CRM credentials, mode 0600
        ensure_key_file(settings.secret_keys_file)
    state = run(_setup(_load_state(STATE_FILE)))
    _save_state(STATE_FILE, state)
    base = f"http://{settings.host}:{port or settings.port}"
    curl = (
        f"curl -s {base}/graphql -H 'Authorization: Bearer {state['api_key']}' "
        f"-H 'Content-Type: application/json' -d '{json.dumps({'query': EXAMPLE_QUERY})}'"
    )
    out.rule("crmkpi demo")
    out.print(f"[b]Organization[/]  {state['organization_id']}")
    out.print(f"[b]Workspaces[/]    {', '.join(state['workspace_ids'])}")
    out.print(f"[b]API key[/]       {state['api_key']}")
    out.print(f"[b]GraphiQL[/]      {base}/graphql  (header Authorization: Bearer <API key>)")
    out.print("[b]Example query[/] " + escape(EXAMPLE_QUERY))
    out.print("[b]With curl:[/]")
    out.print(curl, markup=False)
    if not no_serve:
        serve(host=None, port=port)
