"""A sync in its own process, to be killed: ``python -m tests.reliability.crash_child URL ID KEY``.

Prints ``started`` just before the run begins (imports done, so the parent's kill lands in
the sync itself), then the run's status.
"""

from __future__ import annotations

import asyncio
import sys

import tests.plugins.testcrm as testcrm_plugin
from core.db import create_engine
from core.plugins import create_plugin_manager
from core.secrets import Vault
from core.sync.runner import SyncOptions, run_sync


async def main(database_url: str, connection_id: str, key: str) -> str:
    engine = create_engine(database_url)
    pm = create_plugin_manager(load_entrypoints=False, plugins=[testcrm_plugin])
    try:
        print("started", flush=True)
        result = await run_sync(
            connection_id, engine=engine, pm=pm, vault=Vault([key]), options=SyncOptions()
        )
        return result.status.value
    finally:
        await engine.dispose()


if __name__ == "__main__":
    print(asyncio.run(main(*sys.argv[1:4])), flush=True)
