from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.errors import ValidationError
from core.sync.schedules import parse_schedule

NOW = datetime(2026, 11, 25, 12, 7, tzinfo=UTC)


def test_interval_is_due_after_its_length() -> None:
    schedule = parse_schedule("15m")
    assert schedule.interval == timedelta(minutes=15)
    assert schedule.is_due(None, NOW)
    assert not schedule.is_due(NOW - timedelta(minutes=14), NOW)
    assert schedule.is_due(NOW - timedelta(minutes=15), NOW)


def test_cron_next_run_follows_the_expression() -> None:
    schedule = parse_schedule("*/15 * * * *")
    assert schedule.next_run(datetime(2026, 11, 25, 12, 1, tzinfo=UTC), NOW) == datetime(
        2026, 11, 25, 12, 15, tzinfo=UTC
    )
    nightly = parse_schedule("0 3 * * *")
    assert nightly.next_run(NOW, NOW) == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["", "5", "10s", "0m", "every day", "61 * * * *"])
def test_bad_schedules_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ValidationError, match="schedule"):
        parse_schedule(text)
