"""Soak: the API answers a steady load while syncs run back to back; no error, flat memory.

Concurrent GraphQL clients ask for KPIs and deals while a sync loop edits the simulated CRM
and syncs it again (incremental runs, with a full run every few), so the answers change and
the metric cache is invalidated under load. Every response must be an answer without
errors, every sync SUCCEEDED, and the process's resident memory at the end at most 10% above
what it was after a warm-up. ``make test`` runs it for a few seconds; ``make soak``
(``CRMKPI_SOAK=1``) for ``CRMKPI_SOAK_SECONDS`` (600 by default).
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

import tests.plugins.testcrm as testcrm_plugin
from core.models import Workspace
from core.models.enums import SyncStatus
from core.tenancy import create_api_key
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import Simulator
from tests.support.api import ApiClient, api_client
from tests.support.syncing import SyncBench, Syncer

SHORT_SECONDS = 3.0
CLIENTS = 4
#: Growth of resident memory allowed between the warm-up and the end of the run.
MAX_GROWTH = 0.10
QUERY = """query Soak($ws: ID!) {
  metrics(workspaceId: $ws) {
    salesRevenue(period: {start: "2000-01-01", end: "2100-01-01"}) { value }
    dealsWon(period: {start: "2000-01-01", end: "2100-01-01"}) { value }
    openDeals(period: {start: "2000-01-01", end: "2100-01-01"}) { value }
  }
  deals(first: 5) { totalCount }
}"""


@pytest.fixture
def simulator() -> Simulator:
    """A small CRM: many short syncs in the time given, each changing some deals."""
    return Simulator(Dataset.sized(40))


def resident_mb() -> float:
    """The current (not peak) resident set of this process, after a full collection."""
    gc.collect()
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


@dataclass
class Tally:
    queries: int = 0
    syncs: int = 0
    errors: list[str] = field(default_factory=list)


async def _client(api: ApiClient, key: str, ws: str, until: float, tally: Tally) -> None:
    while time.monotonic() < until:
        response = await api.http.post(
            "/graphql",
            json={"query": QUERY, "variables": {"ws": ws}},
            headers={"Authorization": f"Bearer {key}"},
        )
        tally.queries += 1
        body: dict[str, Any] = response.json() if response.status_code == 200 else {}
        if response.status_code != 200 or body.get("errors"):
            tally.errors.append(f"query: {response.status_code} {response.text[:300]}")
        await asyncio.sleep(0)


async def _syncs(
    simulator: Simulator, sync: Syncer, connection_id: str, until: float, tally: Tally
) -> None:
    n = 0
    while time.monotonic() < until:
        n += 1
        simulator.data.edit("deals", f"d{n % 40}", amount=f"{1000 + n}.00")
        result = await sync(connection_id, full=n % 5 == 0)
        tally.syncs += 1
        if result.status is not SyncStatus.SUCCEEDED:
            tally.errors.append(f"sync {n}: {result.status.value} {result.error}")


async def soak(crm: SyncBench, simulator: Simulator, seconds: float) -> tuple[Tally, float, float]:
    """Warm up, then load and sync for ``seconds``; the tally and RSS before and after."""
    connection = await crm.connect()
    sync = crm.sync
    async with crm.sessionmaker() as session:
        workspace = await session.get(Workspace, connection.workspace_id)
        assert workspace is not None
        _, key = await create_api_key(session, organization_id=workspace.organization_id)
        await session.commit()
    settings = {"secret_keys": Fernet.generate_key().decode()}
    async with api_client(crm.engine, plugins=[testcrm_plugin], **settings) as api:
        warm = Tally()
        assert (await sync(connection.id, full=True)).status is SyncStatus.SUCCEEDED
        warm_until = time.monotonic() + 1.0
        await asyncio.gather(
            _syncs(simulator, sync, connection.id, warm_until, warm),
            *(_client(api, key, connection.workspace_id, warm_until, warm) for _ in range(2)),
        )
        assert not warm.errors, warm.errors[:3]
        before = resident_mb()
        tally = Tally()
        until = time.monotonic() + seconds
        await asyncio.gather(
            _syncs(simulator, sync, connection.id, until, tally),
            *(_client(api, key, connection.workspace_id, until, tally) for _ in range(CLIENTS)),
        )
        after = resident_mb()
    return tally, before, after


def _check(
    tally: Tally, before: float, after: float, seconds: float, database: str, record: Any
) -> None:
    # What the run did, pass or fail: printed at the end of the run (tests/conftest.py).
    record(
        "summary",
        f"soak on {database}: {seconds:.0f}s, {tally.queries:,} GraphQL queries, "
        f"{tally.syncs:,} syncs, {len(tally.errors)} errors; RSS {before:.1f} MB after warm-up, "
        f"{after:.1f} MB at the end ({100 * (after / before - 1):+.1f}%)",
    )
    assert not tally.errors, tally.errors[:5]
    assert tally.syncs >= 1 and tally.queries >= CLIENTS
    assert after <= before * (1 + MAX_GROWTH), f"RSS grew from {before:.0f} to {after:.0f} MB"


async def test_api_under_load_while_syncing(
    crm: SyncBench, simulator: Simulator, record_property: Any
) -> None:
    result = await soak(crm, simulator, SHORT_SECONDS)
    _check(*result, SHORT_SECONDS, crm.engine.dialect.name, record_property)


@pytest.mark.slow
async def test_soak_ten_minutes(crm: SyncBench, simulator: Simulator, record_property: Any) -> None:
    seconds = float(os.environ.get("CRMKPI_SOAK_SECONDS", "600"))
    _check(*await soak(crm, simulator, seconds), seconds, crm.engine.dialect.name, record_property)
