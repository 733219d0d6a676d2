"""``run_sync``: one run of one connection, from the lock to the closing bookkeeping.

The run takes the connection's sync lock (refusing a second concurrent run), opens a
``sync_runs`` row, builds the HTTP policy for the CRM account, then runs the connector's
streams: each starts once the streams it depends on are done, at most ``concurrency`` at a
time, in the connector's order. A full run first discovers the account's capabilities.

A stream whose capability is unavailable is SKIPPED (the run stays SUCCEEDED); a failing
stream BLOCKS its dependants (a SKIPPED one does not: they run). The run ends SUCCEEDED,
PARTIAL (records quarantined, or streams FAILED, BLOCKED or STOPPED) or FAILED.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pluggy
import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import create_sessionmaker
from core.egress import EgressPolicy
from core.models import Connection, SyncRun, utcnow
from core.models.enums import SyncMode, SyncStatus
from core.plugins import connector_classes
from core.secrets import Vault
from core.sync.capabilities import CapabilityUnavailable
from core.sync.connections import resolve_options
from core.sync.connector import DEFAULT_LOOKBACK, Connector, Stream, StreamContext
from core.sync.discovery import (
    discover_or_keep,
    learnt,
    skip_reason,
    store_capabilities,
    stored_capabilities,
)
from core.sync.errors import SyncError, UnknownConnector
from core.sync.gcpolicy import sync_collection
from core.sync.http import RetryPolicy, SyncHttp, create_http_client
from core.sync.locks import sync_lock
from core.sync.mappings import FieldMappings
from core.sync.notify import deliver_sync_webhook
from core.sync.ratelimit import DEFAULT_LIMITERS, RateLimiters
from core.sync.runs import COMPLETE, RunStats, StreamStats, StreamStatus, finish_run, start_run
from core.sync.state import load_cursors
from core.sync.streams import StreamJob, StreamRunner
from core.sync.upsert import RecordWriter, table_of

_log = structlog.get_logger(__name__)


@dataclass(slots=True)
class SyncOptions:
    mode: SyncMode = SyncMode.INCREMENTAL
    #: Only these streams (and the streams they depend on); None = all.
    streams: Sequence[str] | None = None
    concurrency: int = 3
    retry: RetryPolicy | None = None
    limiters: RateLimiters = field(default_factory=lambda: DEFAULT_LIMITERS)
    #: Inject a client (tests); otherwise one is created and closed per run.
    http_client: httpx.AsyncClient | None = None
    #: Called after each committed batch with (stream, its stats, the run's stats).
    progress: Callable[[str, StreamStats, RunStats], None] | None = None
    #: Which addresses the run may reach (core.egress); None: the settings' allow list.
    egress: EgressPolicy | None = None


@dataclass(slots=True)
class SyncResult:
    run_id: int
    connection_id: str
    status: SyncStatus
    stats: RunStats
    error: str | None = None
    seconds: float = 0.0

    @property
    def records(self) -> int:
        return sum(s.fetched for s in self.stats.streams.values())


def select_streams(streams: Sequence[Stream], wanted: Sequence[str] | None) -> list[Stream]:
    """``wanted`` plus what they depend on, in the connector's order."""
    by_name = {s.name: s for s in streams}
    if wanted is None:
        return list(streams)
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        raise SyncError(
            f"unknown stream(s) {', '.join(unknown)}; streams are: {', '.join(by_name)}"
        )
    keep: set[str] = set()
    todo = list(wanted)
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(d for d in by_name[name].depends_on if d in by_name)
    return [s for s in streams if s.name in keep]


async def _schedule(
    streams: Sequence[Stream],
    concurrency: int,
    run_one: Callable[[Stream], Any],
    stats: RunStats,
) -> None:
    """Start each stream when its dependencies are done, ``concurrency`` at a time; if one
    raises (or the run is cancelled), the others are cancelled and awaited first."""
    names = {s.name for s in streams}
    done: dict[str, asyncio.Event] = {s.name: asyncio.Event() for s in streams}
    semaphore = asyncio.Semaphore(max(1, concurrency))
    stopping: list[str] = []  # the stream that raised, once one has

    async def guarded(stream: Stream) -> None:
        try:
            for dep in stream.depends_on:
                if dep in names:
                    await done[dep].wait()
            failed = [
                d
                for d in stream.depends_on
                if d in names and stats.streams[d].status not in COMPLETE
            ]
            if failed:
                stats.streams[stream.name].status = StreamStatus.BLOCKED
                stats.streams[stream.name].error = f"depends on failed stream {failed[0]}"
                return
            async with semaphore:
                if stopping:  # woken by the slot a raising stream freed: start nothing
                    return
                try:
                    await run_one(stream)
                except BaseException:
                    stopping.append(stream.name)
                    raise
        finally:
            done[stream.name].set()

    tasks = [asyncio.ensure_future(guarded(s)) for s in streams]
    try:
        await asyncio.gather(*tasks)
    finally:
        # A stream ends the run by raising only what run_one does not catch (a worker
        # shutting down, a BaseException from a progress hook). gather() leaves the other
        # streams running then: they would read and write after the run is recorded as
        # interrupted, through a closed client, and die with their event loop. Stop them
        # and wait until they have (their own clean-up included) before the run ends.
        left = [t for t in tasks if not t.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)


async def run_sync(
    connection_id: str,
    *,
    engine: AsyncEngine,
    pm: pluggy.PluginManager,
    vault: Vault,
    options: SyncOptions | None = None,
) -> SyncResult:
    """Sync one connection; raises SyncAlreadyRunning if it is already being synced."""
    options = options or SyncOptions()
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        if connection is None:
            raise SyncError(f"no connection {connection_id}")
    classes = connector_classes(pm)
    connector_cls = classes.get(connection.connector)
    if connector_cls is None:
        raise UnknownConnector(
            f"connection {connection_id} uses connector {connection.connector!r}, which no "
            f"installed plugin provides (installed: {', '.join(classes) or 'none'})"
        )
    connector = connector_cls()
    credentials = (
        vault.decrypt(connection.credentials_encrypted) if connection.credentials_encrypted else {}
    )
    mappings = FieldMappings.from_dict(connection.mappings)
    streams = select_streams(connector.streams(), options.streams)

    async with sync_lock(engine, connection_id):
        with sync_collection():
            return await _locked_run(
                connection, connector, credentials, mappings, streams, engine, pm, vault, options
            )


async def _locked_run(
    connection: Connection,
    connector: Connector,
    credentials: Mapping[str, str],
    mappings: FieldMappings,
    streams: Sequence[Stream],
    engine: AsyncEngine,
    pm: pluggy.PluginManager,
    vault: Vault,
    options: SyncOptions,
) -> SyncResult:
    sessionmaker = create_sessionmaker(engine)
    started = utcnow()
    async with sessionmaker() as session:
        # We hold the lock, so any RUNNING run of this connection died without finishing.
        await session.execute(
            update(SyncRun)
            .where(SyncRun.connection_id == connection.id, SyncRun.status == SyncStatus.RUNNING)
            .values(status=SyncStatus.FAILED, finished_at=started, error="interrupted")
        )
        await session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(last_sync_started_at=started)
        )
        await session.commit()
        cursors = await load_cursors(session, connection.id)
        if options.mode is SyncMode.FULL:  # a full read starts afresh, unless it opts out
            kept = {s.name for s in streams if s.keeps_cursor_on_full}
            cursors = {name: c for name, c in cursors.items() if name in kept}
    run_id = await start_run(
        sessionmaker,
        connection_id=connection.id,
        workspace_id=connection.workspace_id,
        mode=options.mode,
    )
    stats = RunStats(
        streams={
            s.name: StreamStats(tables=sorted({table_of(c).name for c in s.produces}))
            for s in streams
        }
    )
    new_credentials: dict[str, str] = {}
    base_url = connection.base_url or connector.default_base_url
    client = options.http_client or create_http_client(egress=options.egress)
    limiter = options.limiters.get(
        connector.account_key(credentials, base_url), connector.rate_limit, engine
    )
    limiter.new_run()
    http = SyncHttp(
        client=client,
        connector=connector,
        credentials=credentials,
        base_url=base_url,
        limiter=limiter,
        retry=options.retry,
        on_credentials=new_credentials.update,
    )
    writer = RecordWriter(
        workspace_id=connection.workspace_id, connection_id=connection.id, source=connector.name
    )
    sweep_classes = (
        _sweep_classes(streams)
        if options.mode is SyncMode.FULL and options.streams is None
        else set()
    )
    write_lock = asyncio.Lock() if engine.dialect.name == "sqlite" else None
    lookback = (
        DEFAULT_LOOKBACK
        if connection.lookback_minutes is None
        else timedelta(minutes=connection.lookback_minutes)
    )
    connector_options = resolve_options(type(connector), connection.options)
    state = connector.new_state(connector_options)
    capabilities = stored_capabilities(connection)
    discovered = False

    def context(stream: Stream | None) -> StreamContext:
        return StreamContext(
            connection_id=connection.id,
            mode=options.mode,
            start_cursor=None if stream is None else cursors.get(stream.name),
            lookback=lookback,
            mappings=mappings,
            now=started,
            capabilities=capabilities,
            options=connector_options,
            state=state,
        )

    def progress(name: str, stream_stats: StreamStats) -> None:
        stats.requests, stats.retries = http.requests, http.retries
        if options.progress is not None:
            options.progress(name, stream_stats, stats)

    async def run_one(stream: Stream) -> None:
        nonlocal capabilities
        stream_stats = stats.streams[stream.name]
        reason = skip_reason(stream, capabilities)
        if reason is not None:
            stream_stats.status, stream_stats.error = StreamStatus.SKIPPED, reason
            _log.info("sync.stream_skipped", connection=connection.id, stream=stream.name)
            progress(stream.name, stream_stats)
            return
        ctx = context(stream)
        job = StreamJob(
            engine=engine,
            http=http,
            writer=writer,
            mappings=mappings,
            run_id=run_id,
            write_lock=write_lock,
            after_batch=progress,
            touch_seen=bool(sweep_classes & set(stream.produces)),
            stats=stats.streams[stream.name],
        )
        try:
            await StreamRunner(stream, ctx, job).run()
        except CapabilityUnavailable as exc:
            capabilities = learnt(capabilities, exc, stream.name)
            _log.info(
                "sync.stream_skipped", connection=connection.id, stream=stream.name, key=exc.key
            )
        except Exception as exc:
            _log.warning(
                "sync.stream_failed", connection=connection.id, stream=stream.name, error=str(exc)
            )
        progress(stream.name, job.stats)

    error: str | None = None
    try:
        if options.mode is SyncMode.FULL:
            found = await discover_or_keep(connector, http, context(None))
            if found is not None:
                capabilities, discovered = found, True
        await _schedule(streams, options.concurrency, run_one, stats)
        if sweep_classes and all(s.status in COMPLETE for s in stats.streams.values()):
            # A skipped stream read nothing: its record classes cannot be reconciled.
            skipped = {
                c
                for s in streams
                if stats.streams[s.name].status == StreamStatus.SKIPPED
                for c in s.produces
            }
            async with engine.begin() as conn:
                swept = await writer.sweep(conn, sweep_classes - skipped, started)
            if swept:
                _log.info("sync.swept", connection=connection.id, rows=swept)
    except Exception as exc:
        error = str(exc) or type(exc).__name__
    except BaseException:
        with contextlib.suppress(Exception):
            await finish_run(sessionmaker, run_id, stats, SyncStatus.FAILED, "interrupted")
        raise
    finally:
        if options.http_client is None:
            await client.aclose()
    stats.requests, stats.retries = http.requests, http.retries
    status = stats.status(error)
    if error is None and status is SyncStatus.FAILED:
        error = next((s.error for s in stats.streams.values() if s.error), None)
    if error is None:
        error = stats.stopped
    await finish_run(sessionmaker, run_id, stats, status, error)
    await _finish_connection(
        sessionmaker, connection.id, status, options.mode, vault, new_credentials
    )
    if discovered or capabilities.to_json() != stored_capabilities(connection).to_json():
        async with sessionmaker() as session:
            await store_capabilities(
                session, connection.id, capabilities, started if discovered else None
            )
            await session.commit()
    seconds = (utcnow() - started).total_seconds()
    _notify(pm, connection.id, run_id, status, stats)
    await deliver_sync_webhook(sessionmaker, vault, run_id)
    return SyncResult(run_id, connection.id, status, stats, error, seconds)


def _sweep_classes(streams: Sequence[Stream]) -> set[Any]:
    """Record classes a full read can reconcile: produced only by streams that do not list
    deletions themselves (their absence from a full read means they were deleted)."""
    sweeping = {c for s in streams if not s.finds_deletions for c in s.produces}
    listed = {c for s in streams if s.finds_deletions for c in s.produces}
    tables = {table_of(c).name for c in listed}
    return {c for c in sweeping if table_of(c).name not in tables}


async def _finish_connection(
    sessionmaker: Any,
    connection_id: str,
    status: SyncStatus,
    mode: SyncMode,
    vault: Vault,
    new_credentials: dict[str, str],
) -> None:
    values: dict[str, Any] = {}
    now = utcnow()
    if status is not SyncStatus.FAILED:
        values["last_synced_at"] = now
        if mode is SyncMode.FULL:
            values["last_full_sync_at"] = now
    if new_credentials:
        values["credentials_encrypted"] = vault.encrypt(new_credentials)
    if values:
        async with sessionmaker() as session:
            await session.execute(
                update(Connection).where(Connection.id == connection_id).values(**values)
            )
            await session.commit()


def _notify(
    pm: pluggy.PluginManager, connection_id: str, run_id: int, status: SyncStatus, stats: RunStats
) -> None:
    try:
        pm.hook.crmkpi_sync_finished(
            connection_id=connection_id, run_id=run_id, status=status.value, stats=stats.to_json()
        )
    except Exception as exc:
        _log.warning("sync.hook_failed", hook="crmkpi_sync_finished", error=str(exc))


async def latest_run(engine: AsyncEngine, connection_id: str) -> SyncRun | None:
    async with create_sessionmaker(engine)() as session:
        run: SyncRun | None = await session.scalar(
            select(SyncRun)
            .where(SyncRun.connection_id == connection_id)
            .order_by(SyncRun.id.desc())
            .limit(1)
        )
        return run
