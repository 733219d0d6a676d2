"""``sync_runs`` bookkeeping: a row per run with its status, per-stream counts and timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import SyncRun, utcnow
from core.models.enums import SyncMode, SyncStatus


class StreamStatus(StrEnum):
    """Where one stream of a run ended (``sync_runs.stream_stats[stream]["status"]``)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"
    #: A capability the stream needs is unavailable on the account: fine, not partial.
    SKIPPED = "SKIPPED"
    #: A stream it depends on failed: the run is partial.
    BLOCKED = "BLOCKED"
    #: The daily API budget ran out; the next run resumes from the cursor.
    STOPPED = "STOPPED"


#: Stream outcomes that leave the run complete.
COMPLETE = frozenset({StreamStatus.DONE, StreamStatus.SKIPPED})
#: Stream outcomes that leave the stream's data out of date (the run is partial).
INCOMPLETE = frozenset({StreamStatus.FAILED, StreamStatus.BLOCKED, StreamStatus.STOPPED})


@dataclass(slots=True)
class StreamStats:
    """Counts of one stream in one run, as stored in ``sync_runs.stream_stats``."""

    status: StreamStatus = StreamStatus.PENDING
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None
    #: The tables the stream writes: what KPI freshness reads when the stream is left out
    #: of date (core.metrics.freshness).
    tables: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = str(self.status)
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass(slots=True)
class RunStats:
    """Everything a run reports: per-stream stats and the HTTP totals."""

    streams: dict[str, StreamStats] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.streams.values())

    @property
    def stopped(self) -> str | None:
        """Why the run stopped early at the daily API limit (None if it did not)."""
        return next(
            (s.error for s in self.streams.values() if s.status == StreamStatus.STOPPED), None
        )

    def incomplete(self) -> dict[str, StreamStats]:
        """The streams left out of date (FAILED, BLOCKED, STOPPED), by name."""
        return {n: s for n, s in self.streams.items() if s.status in INCOMPLETE}

    def status(self, error: str | None) -> SyncStatus:
        """FAILED if the run broke or no stream finished; PARTIAL if anything was left out
        (a run stopped by the daily API limit is PARTIAL: it resumes from its cursors).
        A stream SKIPPED for a missing capability counts as finished."""
        done = [s for s in self.streams.values() if s.status in COMPLETE]
        if error is None and self.stopped is not None:
            return SyncStatus.PARTIAL
        if error is not None or not done:
            return SyncStatus.FAILED
        if len(done) < len(self.streams) or self.quarantined:
            return SyncStatus.PARTIAL
        return SyncStatus.SUCCEEDED

    def to_json(self) -> dict[str, Any]:
        return {name: stats.to_json() for name, stats in self.streams.items()}


async def start_run(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    connection_id: str,
    workspace_id: str,
    mode: SyncMode,
) -> int:
    async with sessionmaker() as session:
        run = SyncRun(
            connection_id=connection_id,
            workspace_id=workspace_id,
            mode=mode.value,
            status=SyncStatus.RUNNING.value,
            started_at=utcnow(),
            stream_stats={},
        )
        session.add(run)
        await session.commit()
        return run.id


async def finish_run(
    sessionmaker: async_sessionmaker[AsyncSession],
    run_id: int,
    stats: RunStats,
    status: SyncStatus,
    error: str | None,
) -> None:
    async with sessionmaker() as session:
        await session.execute(
            update(SyncRun)
            .where(SyncRun.id == run_id)
            .values(
                status=status.value,
                finished_at=utcnow(),
                stream_stats=stats.to_json(),
                requests=stats.requests,
                retries=stats.retries,
                error=error,
            )
        )
        await session.commit()
