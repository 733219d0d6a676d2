"""Run status from stream stats: a stop at the daily API limit is PARTIAL, not FAILED."""

from __future__ import annotations

from core.models.enums import SyncStatus
from core.sync.runs import RunStats, StreamStats


def _stats(*statuses: str) -> RunStats:
    streams = {f"s{i}": StreamStats(status=s) for i, s in enumerate(statuses)}
    for s in streams.values():
        if s.status == "STOPPED":
            s.error = "daily API budget exhausted"
    return RunStats(streams=streams)


def test_a_stop_at_the_daily_limit_is_partial_even_before_any_stream_finished() -> None:
    assert _stats("STOPPED", "STOPPED").status(None) is SyncStatus.PARTIAL
    assert _stats("DONE", "STOPPED", "SKIPPED").status(None) is SyncStatus.PARTIAL
    assert _stats("STOPPED").stopped == "daily API budget exhausted"


def test_other_outcomes_are_unchanged() -> None:
    assert _stats("DONE", "DONE").status(None) is SyncStatus.SUCCEEDED
    assert _stats("DONE", "FAILED").status(None) is SyncStatus.PARTIAL
    assert _stats("FAILED").status(None) is SyncStatus.FAILED
    assert _stats("DONE").status("broken") is SyncStatus.FAILED
    assert _stats("DONE").stopped is None
