"""Syncs started from the API: queued for the workers, or run by the API process itself.

``triggerSync`` must answer at once, while a sync may take minutes. With ``crmkpi worker``
processes (PostgreSQL, no embedded scheduler) the sync is deferred to their queue
(core.sync.worker, debounced per connection). The embedded default (one ``crmkpi serve``
process) runs it here as a tracked task, cancelled at exit. Either way the sync lock
(core.sync.locks) keeps it exclusive with every other run of the connection.
"""

from __future__ import annotations

import asyncio

import pluggy
import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from core.egress import EgressPolicy
from core.errors import CrmkpiError
from core.models.enums import SyncMode
from core.secrets import Vault
from core.settings import Settings
from core.sync.runner import SyncOptions, run_sync
from core.sync.worker import create_queue, defer_sync

_log = structlog.get_logger(__name__)


class SyncLauncher:
    def __init__(self, engine: AsyncEngine, plugins: pluggy.PluginManager, settings: Settings):
        self.engine = engine
        self.plugins = plugins
        self.settings = settings
        self.tasks: dict[str, asyncio.Task[None]] = {}
        #: Debounce timers of webhook-triggered syncs, by connection.
        self.pending: dict[str, asyncio.Task[None]] = {}

    def running(self, connection_id: str) -> bool:
        task = self.tasks.get(connection_id)
        return task is not None and not task.done()

    @property
    def uses_queue(self) -> bool:
        return not self.settings.is_sqlite and not self.settings.embedded_scheduler

    async def launch(self, connection_id: str, mode: SyncMode) -> bool:
        """Queue or start a sync; False when one is already waiting or running here."""
        if self.uses_queue:
            queue = create_queue(self.settings)
            async with queue.open_async():
                return await defer_sync(queue, connection_id, mode) == 1
        if self.running(connection_id):
            return False
        vault = Vault.from_settings(self.settings)  # fails here, in the request, if unset
        task = asyncio.create_task(self._run(connection_id, mode, vault))
        self.tasks[connection_id] = task
        task.add_done_callback(lambda _: self._forget(connection_id, task))
        return True

    def _forget(self, connection_id: str, task: asyncio.Task[None]) -> None:
        if self.tasks.get(connection_id) is task:
            del self.tasks[connection_id]

    async def _run(self, connection_id: str, mode: SyncMode, vault: Vault) -> None:
        try:
            result = await run_sync(
                connection_id,
                engine=self.engine,
                pm=self.plugins,
                vault=vault,
                options=SyncOptions(mode=mode, egress=EgressPolicy.from_settings(self.settings)),
            )
            _log.info("sync.api_finished", connection_id=connection_id, status=result.status)
        except CrmkpiError as exc:  # already running elsewhere, unknown connector, ...
            _log.warning("sync.api_refused", connection_id=connection_id, error=str(exc))
        except Exception:  # a background task has no caller to raise to: log it
            _log.exception("sync.api_failed", connection_id=connection_id)

    async def launch_debounced(self, connection_id: str, delay: float) -> bool:
        """An incremental sync ``delay`` seconds from now; deliveries meanwhile join it.

        With workers, procrastinate's queueing lock keeps one waiting job per connection;
        here, one pending timer per connection does the same. False when one is pending.
        """
        if self.uses_queue:
            queue = create_queue(self.settings)
            async with queue.open_async():
                return (
                    await defer_sync(
                        queue, connection_id, SyncMode.INCREMENTAL, delay_seconds=int(delay)
                    )
                    == 1
                )
        if connection_id in self.pending:
            return False

        async def later() -> None:
            await asyncio.sleep(delay)
            self.pending.pop(connection_id, None)
            await self.launch(connection_id, SyncMode.INCREMENTAL)

        self.pending[connection_id] = asyncio.create_task(later())
        return True

    async def wait(self) -> None:
        """Let running syncs finish (tests, and a graceful shutdown)."""
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)

    async def close(self) -> None:
        for task in [*self.pending.values(), *self.tasks.values()]:
            task.cancel()
        await asyncio.gather(*self.pending.values(), return_exceptions=True)
        await self.wait()
