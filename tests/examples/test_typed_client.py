"""The typed client example: regenerated from the server's current schema, it must match
the committed one (so a schema change cannot leave it stale), and it works against the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from api.schema import schema_sdl
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key
from tests.support.api import api_client

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "typed_client"
PACKAGE = "crmkpi_client"
CODEGEN_BIN = ROOT / ".venv-codegen" / "bin"


def _sources(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("*.py"))}


def test_the_committed_client_is_what_the_schema_generates(tmp_path: Path) -> None:
    if not (CODEGEN_BIN / "ariadne-codegen").exists():
        pytest.fail(
            "the code generator is missing: `make test` installs it (make .venv-codegen/.stamp)"
        )
    # The schema as the server builds it now (not the file, which could be stale too).
    (tmp_path / "schema.graphql").write_text(schema_sdl())
    (tmp_path / "queries.graphql").write_text((EXAMPLE / "queries.graphql").read_text())
    config = (EXAMPLE / "codegen.toml").read_text()
    assert 'schema_path = "../../schema.graphql"' in config
    (tmp_path / "codegen.toml").write_text(
        config.replace('"../../schema.graphql"', '"schema.graphql"')
    )
    # The generator formats with its own pinned ruff: put its virtualenv first on PATH.
    env = {**os.environ, "PATH": f"{CODEGEN_BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [str(CODEGEN_BIN / "ariadne-codegen"), "--config", "codegen.toml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    generated = _sources(tmp_path / PACKAGE)
    committed = _sources(EXAMPLE / PACKAGE)
    assert generated.keys() == committed.keys()
    stale = [name for name in generated if generated[name] != committed[name]]
    assert not stale, f"examples/typed_client/{PACKAGE} is stale ({stale}): run `make client`"


async def test_the_client_reads_the_real_api(
    engine: AsyncEngine, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await create_organization(session, "Agency")
    await create_workspace(session, organization_id=org.id, name="Acme", currency="EUR")
    _, key = await create_api_key(session, organization_id=org.id)
    await session.commit()
    monkeypatch.syspath_prepend(str(EXAMPLE))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        monkeypatch.delitem(sys.modules, name)
    import crmkpi_client as generated

    async with api_client(engine) as api:
        transport = httpx.ASGITransport(app=api.app)
        # A client given its own httpx client sends that client's headers.
        auth = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(transport=transport, headers=auth) as http:
            client = generated.CrmkpiClient(url="http://test/graphql", http_client=http)
            workspaces = (await client.workspaces()).workspaces
            tiles = await client.tiles(
                workspaces[0].id,
                generated.PeriodInput(preset=generated.PeriodPreset.LAST_MONTH),
                compare_to=generated.Comparison.PREVIOUS_PERIOD,
            )
            trend = await client.monthly_trend(
                workspaces[0].id, generated.PeriodInput(preset=generated.PeriodPreset.THIS_YEAR)
            )
    assert [(w.name, w.currency) for w in workspaces] == [("Acme", "EUR")]
    assert tiles.metrics.deals_won is not None and tiles.metrics.deals_won.value == 0
    assert tiles.metrics.sales_revenue is not None
    assert tiles.metrics.sales_revenue.currency == "EUR"
    series = trend.metrics.sales_revenue.series if trend.metrics.sales_revenue else None
    # This year's months: done ones, then the one in progress and those to come (partial).
    assert series and series[-1].partial
    assert [p.partial for p in series] == sorted(p.partial for p in series)
