"""``sync_runs`` bookkeeping: a row per run with its status, per-stream counts and timings."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import SyncRun, utcnow
from core.models.enums import SyncMode, SyncStatus


@dataclass(slots=True)
class StreamStats:
    """Counts of one stream in one run, as stored in ``sync_runs.stream_stats``."""

    #: STOPPED: the daily API budget ran out; the next run resumes from the cursor.
    status: str = "PENDING"  # PENDING | RUNNING | DONE | FAILED | SKIPPED | STOPPED
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
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
        return next((s.error for s in self.streams.values() if s.status == "STOPPED"), None)

    def status(self, error: str | None) -> SyncStatus:
        """FAILED if the run broke or no stream finished; PARTIAL if anything was left out
        (a run stopped by the daily API limit is PARTIAL: it resumes from its cursors)."""
        done = [s for s in self.streams.values() if s.status == "DONE"]
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
