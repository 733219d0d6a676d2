"""The result caches' clocks stopped at one minute, for tests of cache hits.

Both result caches (api.response_cache, core.metrics.cache) key an answer by the minute it
was asked in. A test that asks twice and expects the second answer from the cache fails for
a reason it is not about when the two requests fall either side of a minute's end (it
happened on a loaded machine: a 4.9 s first request, six concurrent misses at hh:mm:00).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

STOPPED_AT = datetime(2026, 1, 5, 12, 0, 20, tzinfo=UTC)


class _StoppedClock(datetime):
    @classmethod
    def now(cls, tz: object = None) -> datetime:  # type: ignore[override]
        return STOPPED_AT


def stop_result_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``datetime.now`` of the two result caches answers :data:`STOPPED_AT`."""
    import api.response_cache
    import core.metrics.cache

    monkeypatch.setattr(api.response_cache, "datetime", _StoppedClock)
    monkeypatch.setattr(core.metrics.cache, "datetime", _StoppedClock)
