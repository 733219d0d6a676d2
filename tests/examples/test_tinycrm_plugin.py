"""The example third-party connector (examples/tinycrm) works as an installed package.

The package is installed with pip into a temporary folder, so what is tested is what a
plugin author ships: the entry point, the hook, and a connector that syncs end to end.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.models import Deal, Stage, User
from core.models.enums import SyncStatus
from core.plugins import connector_classes, create_plugin_manager
from core.secrets import Vault
from tests.support.server import serve
from tests.support.syncing import connection_factory, syncer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tinycrm"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip install`` of the example into a folder of its own (no network: no deps)."""
    target = tmp_path_factory.mktemp("site")
    # A copy, because a build without isolation writes build/ and *.egg-info beside the sources.
    source = tmp_path_factory.mktemp("src") / "tinycrm"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture
def on_path(installed: Path) -> Iterator[Path]:
    sys.path.insert(0, str(installed))
    importlib.invalidate_caches()
    try:
        yield installed
    finally:
        sys.path.remove(str(installed))


def test_the_cli_lists_the_installed_plugin(installed: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(installed)}
    crmkpi = Path(sys.executable).with_name("crmkpi")
    listed = subprocess.run(
        [str(crmkpi), "connectors", "list"], env=env, capture_output=True, text=True, check=True
    )
    assert "tinycrm" in listed.stdout
    assert "hubspot" in listed.stdout  # the built-ins stay beside it

    without = subprocess.run(
        [str(crmkpi), "connectors", "list"], capture_output=True, text=True, check=True
    )
    assert "tinycrm" not in without.stdout


async def test_the_plugin_syncs_its_simulator_end_to_end(
    on_path: Path, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    pm = create_plugin_manager()
    connector = connector_classes(pm)["tinycrm"]
    from crmkpi_tinycrm.simulator import TinyData, build_app

    data = TinyData.seeded(seed=5, deals=450)  # three pages of 200
    vault = Vault([Fernet.generate_key().decode()])
    make = connection_factory(
        sessionmaker, vault, connector="tinycrm", credentials=connector.simulator_credentials()
    )
    sync = syncer(engine, pm, vault)
    with serve(build_app(data=data)) as base_url:
        connection = await make(base_url)
        first = await sync(connection.id, full=True)
        assert first.status is SyncStatus.SUCCEEDED

        data.edit("d7", amount=123.45)
        data.delete("d9")
        second = await sync(connection.id)
        assert second.status is SyncStatus.SUCCEEDED

    async with sessionmaker() as session:
        deals = {
            d.remote_id: d
            for d in await session.scalars(select(Deal).where(Deal.connection_id == connection.id))
        }
        stages = await session.scalars(select(Stage).where(Stage.connection_id == connection.id))
        users = await session.scalars(select(User).where(User.connection_id == connection.id))
        assert len(deals) == 450
        assert float(deals["d7"].amount or 0) == pytest.approx(123.45)
        assert deals["d9"].deleted_at is not None
        assert sum(d.deleted_at is None for d in deals.values()) == 449
        assert {s.name for s in stages} == {"New", "Demo", "Won", "Lost"}
        assert len(list(users)) == 3
