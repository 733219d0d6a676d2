"""Which connections are due, and the embedded scheduler that runs them in-process.

The embedded scheduler is the single-process default (``crmkpi serve`` on SQLite): it polls
for due connections and runs their syncs in the background. With PostgreSQL and
``crmkpi worker`` processes, the same ``due_syncs`` feeds procrastinate instead
(core.sync.worker), so both paths agree on what is due.

A PARTIAL run is logged at warning and retried after core.sync.partial's delays when a
stream failed; meanwhile the scheduler leaves that connection to its retry.

A connection is due for an incremental run when its schedule says so, and for a full
reconciliation (which also sweeps deletions) by its ``full_sync_schedule``: nightly
(``full_every``) by default, an interval or cron, or "off" (core.sync.schedules).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import pluggy
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_sessionmaker
from core.errors import ValidationError
from core.models import Connection, utcnow
from core.models.enums import SyncMode, SyncStatus
from core.secrets import Vault
from core.sync.errors import SyncAlreadyRunning
from core.sync.partial import PARTIAL_RETRY_DELAYS, log_partial, worth_retrying
from core.sync.runner import SyncOptions, run_sync
from core.sync.schedules import next_full_sync, parse_schedule
from core.tasks import stop_task

_log = structlog.get_logger(__name__)
FULL_EVERY = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class DueSync:
    connection_id: str
    mode: SyncMode


async def due_syncs(
    engine: AsyncEngine, now: datetime | None = None, *, full_every: timedelta = FULL_EVERY
) -> list[DueSync]:
    """Active, scheduled connections whose next run is due, oldest first."""
    now = now or utcnow()
    async with create_sessionmaker(engine)() as session:
        rows: Sequence[Connection] = (
            await session.scalars(
                select(Connection)
                .where(Connection.schedule.is_not(None), Connection.status == "ACTIVE")
                .order_by(
                    Connection.last_sync_started_at.is_not(None), Connection.last_sync_started_at
                )
            )
        ).all()
    due: list[DueSync] = []
    for conn in rows:
        try:
            schedule = parse_schedule(conn.schedule or "")
        except ValidationError:
            _log.warning("scheduler.bad_schedule", connection_id=conn.id, schedule=conn.schedule)
            continue
        if not schedule.is_due(conn.last_sync_started_at, now):
            continue
        full_at = _next_full(conn, now, full_every)
        full = full_at is not None and full_at <= now
        due.append(DueSync(conn.id, SyncMode.FULL if full else SyncMode.INCREMENTAL))
    return due


def _next_full(conn: Connection, now: datetime, full_every: timedelta) -> datetime | None:
    try:
        return next_full_sync(conn.full_sync_schedule, conn.last_full_sync_at, now, full_every)
    except ValidationError:
        _log.warning(
            "scheduler.bad_full_sync_schedule", connection_id=conn.id, value=conn.full_sync_schedule
        )
        return None


def next_runs(
    conn: Connection, now: datetime | None = None, *, full_every: timedelta = FULL_EVERY
) -> tuple[datetime | None, datetime | None]:
    """When the scheduler will next sync ``conn`` (None: manual or paused) and when that run
    will be a full reconciliation (None: off); what GraphQL shows on a connection."""
    now = now or utcnow()
    if conn.schedule is None or conn.status != "ACTIVE":
        return None, None
    try:
        schedule = parse_schedule(conn.schedule)
    except ValidationError:
        return None, None
    return schedule.next_run(conn.last_sync_started_at, now), _next_full(conn, now, full_every)


class EmbeddedScheduler:
    """Polls for due syncs and runs them in this process, ``concurrency`` at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        pm: pluggy.PluginManager,
        vault: Vault,
        *,
        poll_seconds: float = 30.0,
        concurrency: int = 2,
        clock: Callable[[], datetime] = utcnow,
        partial_retry_delays: Sequence[float] = PARTIAL_RETRY_DELAYS,
    ) -> None:
        self.engine = engine
        self.partial_retry_delays = tuple(partial_retry_delays)
        #: Retries already made of each connection's latest partial run.
        self._retries: dict[str, int] = {}
        #: Connections waiting for the retry of a partial run (not started by tick()).
        self._retrying: dict[str, asyncio.Task[None]] = {}
        self.pm = pm
        self.vault = vault
        self.poll_seconds = poll_seconds
        self.clock = clock
        self._slots = asyncio.Semaphore(concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> list[str]:
        """Start every due sync not already running here; returns the connection ids."""
        started = []
        for item in await due_syncs(self.engine, self.clock()):
            if item.connection_id in self._running or item.connection_id in self._retrying:
                continue
            task = asyncio.create_task(self._run(item), name=f"sync-{item.connection_id}")
            self._running[item.connection_id] = task
            task.add_done_callback(functools.partial(self._forget, item.connection_id))
            started.append(item.connection_id)
        return started

    def _forget(self, connection_id: str, _task: asyncio.Task[None]) -> None:
        self._running.pop(connection_id, None)

    async def _run(self, item: DueSync) -> None:
        async with self._slots:
            try:
                result = await run_sync(
                    item.connection_id,
                    engine=self.engine,
                    pm=self.pm,
                    vault=self.vault,
                    options=SyncOptions(mode=item.mode),
                )
                _log.info(
                    "scheduler.sync_done",
                    connection_id=item.connection_id,
                    status=result.status.value,
                    records=result.records,
                )
                if result.status is SyncStatus.PARTIAL:
                    log_partial(_log, "scheduler.sync_partial", result)
                self._after(item, worth_retrying(result))
            except SyncAlreadyRunning:
                _log.info("scheduler.already_running", connection_id=item.connection_id)
            except Exception:  # one failing connection must not stop the scheduler
                _log.exception("scheduler.sync_failed", connection_id=item.connection_id)

    def _after(self, item: DueSync, retry: bool) -> None:
        """Schedule the next retry of a partial run, or forget the retries of a good one."""
        attempt = self._retries.get(item.connection_id, 0)
        if not retry or attempt >= len(self.partial_retry_delays):
            self._retries.pop(item.connection_id, None)
            return
        self._retries[item.connection_id] = attempt + 1
        delay = self.partial_retry_delays[attempt]
        _log.warning(
            "scheduler.partial_retry",
            connection_id=item.connection_id,
            attempt=attempt + 1,
            in_seconds=delay,
        )
        task = asyncio.create_task(self._retry(item, delay), name=f"retry-{item.connection_id}")
        self._retrying[item.connection_id] = task

    async def _retry(self, item: DueSync, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
        finally:
            self._retrying.pop(item.connection_id, None)
        if item.connection_id not in self._running:
            task = asyncio.create_task(self._run(item), name=f"sync-{item.connection_id}")
            self._running[item.connection_id] = task
            task.add_done_callback(functools.partial(self._forget, item.connection_id))

    async def wait_idle(self) -> None:
        """Wait until no sync runs and no retry of a partial run is pending."""
        while self._running or self._retrying:
            await asyncio.gather(
                *list(self._running.values()),
                *list(self._retrying.values()),
                return_exceptions=True,
            )

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:  # a database hiccup: log and poll again
                _log.exception("scheduler.tick_failed")
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="crmkpi-scheduler")

    async def stop(self) -> None:
        """Stop polling and let running syncs end their current batch (cancellation is
        delivered between batches' transactions, so cursors stay consistent)."""
        try:
            if self._task is not None:
                await stop_task(self._task)
        finally:  # the running syncs are stopped even when this wait is cancelled
            for task in [*self._running.values(), *self._retrying.values()]:
                task.cancel()
            await asyncio.gather(
                *self._running.values(), *self._retrying.values(), return_exceptions=True
            )
