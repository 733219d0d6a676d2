"""Shared fixtures: every storage test runs on SQLite and on a real PostgreSQL.

The PostgreSQL cluster is started once per test session from the machine's server binaries
(see tests/support/postgres.py); each backend gets one migrated database, and tables are
emptied after every test. Test ids end in ``[sqlite]`` or ``[postgresql]``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.db import create_engine, create_sessionmaker
from core.migrate import upgrade
from core.models import Base
from tests.support.postgres import PostgresCluster, start_cluster

#: vault, servers, sync and crm for every sync test directory; every simulator exchange
#: checked against its CRM's documented contract (tests/contracts/traffic.py).
pytest_plugins = ("tests.support.fixtures", "tests.contracts.traffic")

os.environ.setdefault("CRMKPI_LOG_FORMAT", "console")
#: The simulators the tests sync from listen on loopback, which the egress policy
#: (core.egress) refuses unless listed: listed here, explicitly, for every process the
#: tests start. Tests of the refusal pass their own (empty) allow list.
os.environ.setdefault("CRMKPI_CONNECTION_ALLOWED_HOSTS", '["127.0.0.1", "::1", "localhost"]')


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PostgresCluster]:
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


def _migrate(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


#: The test database of each running cluster (by port), made at its first use.
_PG_DATABASES: dict[int, str] = {}


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated, empty database of each backend, shared by the session."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite+aiosqlite:///{path}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("pg_cluster")
        # Created once per cluster: pytest sets this fixture up again whenever a worker's
        # tests switch backends (xdist's work stealing hands a worker tests out of order).
        url = _PG_DATABASES.get(cluster.port) or cluster.create_database("crmkpi_test")
        _PG_DATABASES[cluster.port] = url
    _migrate(url)
    return url


async def _truncate(engine: AsyncEngine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await _truncate(engine)
        await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


#: Test folders whose storage tests run on one backend only in `make test` (CI's 15-minute
#: budget); ``CRMKPI_ALL_BACKENDS=1`` runs them on both. Connectors' end-to-end syncs run on
#: PostgreSQL, the production database: what they check is the CRM side, and the engine's
#: writes are checked on both backends in tests/core/sync and tests/reliability. The CLI's
#: management commands, its capability/exit-code checks and its parity with the GraphQL
#: mutations run on SQLite, its embedded default (the use cases' writes are tested on both
#: backends through GraphQL); its sync paths (tests/api/test_cli_sync.py) keep both.
ONE_BACKEND = {
    "tests/connectors/": "postgresql",
    "tests/api/commands/": "sqlite",
    "tests/api/test_cli_capabilities.py": "sqlite",
    "tests/api/test_cli_graphql_parity.py": "sqlite",
}


def _backend_of(nodeid: str) -> str | None:
    params = nodeid.partition("[")[2]
    for backend in ("sqlite", "postgresql"):
        if params.startswith(backend) or f"-{backend}" in params:
            return backend
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CRMKPI_ALL_BACKENDS"):
        return
    other: set[pytest.Item] = set()
    for item in items:
        backend = _backend_of(item.nodeid)
        for folder, kept in ONE_BACKEND.items():
            if backend and item.nodeid.startswith(folder) and backend != kept:
                other.add(item)
    if other:
        config.hook.pytest_deselected(items=list(other))
        items[:] = [i for i in items if i not in other]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say how many tests ran on each database, so a run shows both were exercised."""
    counts: dict[str, int] = {"sqlite": 0, "postgresql": 0}
    for outcome in ("passed", "failed", "error"):
        for report in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(report, "nodeid", "")
            if getattr(report, "when", "call") != "call":
                continue
            for backend in counts:
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
                    counts[backend] += 1
    terminalreporter.write_line(
        f"database backends: {counts['sqlite']} tests on SQLite, "
        f"{counts['postgresql']} tests on PostgreSQL"
    )
    # Figures a test records as its "summary" property (the soak's), also from xdist workers.
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for name, value in getattr(report, "user_properties", ()):
                if name == "summary":
                    terminalreporter.write_line(str(value))
