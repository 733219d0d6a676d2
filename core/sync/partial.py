"""What the scheduled paths (procrastinate workers, the embedded scheduler) do with a
PARTIAL run: log it at warning with each incomplete stream and why, and retry it.

The retry policy, shared by both paths: a partial run is retried when a stream FAILED or
was BLOCKED by one that failed (an outage, a 5xx storm past the retry budget, a token
revoked and restored): that may pass. A run that is partial only because records were
quarantined (they come back when edited in the CRM) or because the daily API budget ran
out (STOPPED: the next scheduled run resumes from the cursors) is not retried early: a
retry would fail the same way. Workers retry through the task's procrastinate
RetryStrategy (at most 5 attempts, waits of 16 s, 64 s, 256 s, 1024 s); the embedded
scheduler after :data:`PARTIAL_RETRY_DELAYS`. Then the connection's schedule takes over.
"""

from __future__ import annotations

from typing import Any

from core.models.enums import SyncStatus
from core.sync.errors import SyncError
from core.sync.runner import SyncResult
from core.sync.runs import StreamStatus

#: Seconds the embedded scheduler waits before each retry of a partial run.
PARTIAL_RETRY_DELAYS: tuple[float, ...] = (60.0, 300.0, 900.0)


class PartialSync(SyncError):
    """A partial run worth retrying; raised by the worker task so procrastinate retries it."""


def incomplete_streams(result: SyncResult) -> dict[str, str]:
    """Stream -> why it did not complete (FAILED, BLOCKED, STOPPED)."""
    return {
        name: f"{s.status}: {s.error or 'no reason given'}"
        for name, s in result.stats.incomplete().items()
    }


def worth_retrying(result: SyncResult) -> bool:
    """PARTIAL with a stream FAILED or BLOCKED (see the module docstring)."""
    if result.status is not SyncStatus.PARTIAL:
        return False
    retried = (StreamStatus.FAILED, StreamStatus.BLOCKED)
    return any(s.status in retried for s in result.stats.streams.values())


def log_partial(log: Any, event: str, result: SyncResult, **context: Any) -> None:
    """The warning a partial run leaves in the log: the streams, why, and the quarantine."""
    log.warning(
        event,
        connection_id=result.connection_id,
        run_id=result.run_id,
        streams=incomplete_streams(result),
        quarantined=result.stats.quarantined,
        retry=worth_retrying(result),
        **context,
    )
