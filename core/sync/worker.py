"""Distributed sync workers on PostgreSQL, coordinated by procrastinate (no home-made queue).

- ``sync_connection`` jobs run one sync each. The job's ``lock`` (the connection id) makes
  procrastinate run jobs of one connection one after the other, and ``queueing_lock`` keeps at
  most one *waiting* job per connection, so webhooks and schedules debounce naturally. The sync
  itself also takes the connection's advisory lock (core.sync.locks): never two at once.
- ``enqueue_due_syncs`` runs every minute on whichever worker gets it (procrastinate dedupes
  periodic jobs across workers) and defers a job for every due connection
  (core.sync.scheduler.due_syncs, shared with the embedded scheduler).
- A PARTIAL run is logged at warning and, when a stream failed, retried by the task's
  RetryStrategy (core.sync.partial says which partial runs are worth it, and why).
- ``requeue_stalled_jobs`` runs every minute and retries jobs whose worker stopped sending
  heartbeats (killed with SIGKILL, machine lost): another worker resumes the sync from the
  last committed cursor, which the engine commits with each batch.
- SIGTERM/SIGINT: procrastinate stops fetching jobs and waits ``shutdown_graceful_timeout``
  for running syncs; a sync cancelled after that stops between batches, its cursor consistent.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import procrastinate
import structlog
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_engine
from core.errors import ConfigurationError
from core.models.enums import SyncMode, SyncStatus
from core.plugins import create_plugin_manager
from core.prometheus import SyncMetricsPlugin
from core.secrets import Vault
from core.settings import Settings
from core.sync.errors import SyncAlreadyRunning
from core.sync.partial import PartialSync, incomplete_streams, log_partial, worth_retrying
from core.sync.runner import SyncOptions, SyncResult, run_sync
from core.sync.scheduler import due_syncs

_log = structlog.get_logger(__name__)
QUEUE = "sync"
#: Debounce window of webhook-triggered runs: events within it share one run.
WEBHOOK_DEBOUNCE_SECONDS = 10


def psycopg_conninfo(database_url: str) -> str:
    """procrastinate speaks psycopg 3: the same database, without SQLAlchemy's driver name."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ConfigurationError("crmkpi worker needs PostgreSQL (CRMKPI_DATABASE_URL)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class WorkerResources:
    engine: AsyncEngine
    vault: Vault
    pm: Any


_resources: dict[str, WorkerResources] = {}


def _resources_for(settings: Settings) -> WorkerResources:
    """Engine, vault and plugins of this worker process, created on first use."""
    found = _resources.get(settings.database_url)
    if found is None:
        found = WorkerResources(
            create_engine(settings.database_url),
            Vault.from_settings(settings),
            create_plugin_manager(plugins=[SyncMetricsPlugin()]),
        )
        _resources[settings.database_url] = found
    return found


def create_queue(settings: Settings) -> procrastinate.App:
    """The procrastinate app with crmkpi's tasks, bound to the settings' PostgreSQL."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=psycopg_conninfo(settings.database_url))
    )

    @app.task(
        name="crmkpi.sync_connection",
        queue=QUEUE,
        pass_context=False,
        retry=procrastinate.RetryStrategy(max_attempts=5, exponential_wait=4),
    )
    async def sync_connection(connection_id: str, mode: str = SyncMode.INCREMENTAL.value) -> str:
        res = _resources_for(settings)
        structlog.contextvars.bind_contextvars(connection_id=connection_id)
        try:
            result = await run_sync(
                connection_id,
                engine=res.engine,
                pm=res.pm,
                vault=res.vault,
                options=SyncOptions(mode=SyncMode(mode)),
            )
        except SyncAlreadyRunning:
            _log.info("worker.already_running")
            return "ALREADY_RUNNING"
        finally:
            structlog.contextvars.unbind_contextvars("connection_id")
        return job_outcome(result)

    @app.periodic(cron="* * * * *", periodic_id="due")
    @app.task(name="crmkpi.enqueue_due_syncs", queue=QUEUE, pass_context=False)
    async def enqueue_due_syncs(timestamp: int) -> int:
        due = await due_syncs(_resources_for(settings).engine)
        deferred = 0
        for item in due:
            deferred += await defer_sync(app, item.connection_id, item.mode)
        return deferred

    @app.periodic(cron="* * * * *", periodic_id="stalled")
    @app.task(name="crmkpi.requeue_stalled_jobs", queue=QUEUE, pass_context=False)
    async def requeue_stalled_jobs(timestamp: int) -> int:
        stalled = list(
            await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=settings.worker_stalled_seconds
            )
        )
        for job in stalled:
            _log.warning("worker.requeue_stalled", job_id=job.id, task=job.task_name)
            await app.job_manager.retry_job(job)
        return len(stalled)

    return app


def job_outcome(result: SyncResult) -> str:
    """The job's result: the run status; a partial run is logged at warning, and one worth
    retrying raises PartialSync so that procrastinate retries the job by its strategy."""
    if result.status is SyncStatus.PARTIAL:
        log_partial(_log, "worker.sync_partial", result)
        if worth_retrying(result):
            streams = ", ".join(f"{n} ({why})" for n, why in incomplete_streams(result).items())
            raise PartialSync(f"sync of {result.connection_id} was partial: {streams}")
    return result.status.value


async def defer_sync(
    app: procrastinate.App,
    connection_id: str,
    mode: SyncMode = SyncMode.INCREMENTAL,
    *,
    delay_seconds: int = 0,
) -> int:
    """Queue a sync; 0 when one is already waiting for this connection (debounced)."""
    task = app.tasks["crmkpi.sync_connection"]
    try:
        await task.configure(
            lock=connection_id,
            queueing_lock=f"sync:{connection_id}",
            schedule_in={"seconds": delay_seconds} if delay_seconds else None,
        ).defer_async(connection_id=connection_id, mode=mode.value)
    except AlreadyEnqueued:
        return 0
    return 1


async def run_worker(settings: Settings, *, concurrency: int = 2, name: str | None = None) -> None:
    """Run one worker until SIGTERM/SIGINT (procrastinate installs the handlers)."""
    app = create_queue(settings)
    async with app.open_async():
        await app.run_worker_async(
            queues=[QUEUE],
            concurrency=concurrency,
            shutdown_graceful_timeout=60,
            install_signal_handlers=True,
            name=name or f"crmkpi-worker-{os.getpid()}",
        )
    for res in _resources.values():
        await res.engine.dispose()
    _resources.clear()
