"""Sync schedules: an interval ("15m", "2h", "1d") or a five-field cron expression (UTC).

Cron parsing uses ``cronsim`` (small, maintained, no dependencies) rather than our own parser:
cron's day-of-month/day-of-week rules are easy to get subtly wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cronsim import CronSim, CronSimError

from core.errors import ValidationError

_INTERVAL = re.compile(r"^(\d+)\s*(m|min|h|d)$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Schedule:
    """A parsed schedule; ``text`` is what is stored on the connection."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None

    def next_run(self, last_started: datetime | None, now: datetime) -> datetime:
        """When the next run is due: at once if never run, then by interval or cron."""
        if last_started is None:
            return now
        if self.interval is not None:
            return last_started + self.interval
        assert self.cron is not None
        return next(iter(CronSim(self.cron, last_started.astimezone(UTC))))

    def is_due(self, last_started: datetime | None, now: datetime) -> bool:
        return self.next_run(last_started, now) <= now


def parse_schedule(text: str) -> Schedule:
    """Parse ``"15m"``, ``"1h"``, ``"1d"`` or a cron expression such as ``"*/15 * * * *"``."""
    value = text.strip()
    match = _INTERVAL.match(value)
    if match:
        interval = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
        if interval < MIN_INTERVAL:
            raise ValidationError(f"schedule {text!r} is too frequent: at least every 1m")
        return Schedule(text=value, interval=interval)
    try:
        next(iter(CronSim(value, datetime(2026, 1, 1, tzinfo=UTC))))
    except (CronSimError, StopIteration, ValueError) as exc:
        raise ValidationError(
            f"invalid schedule {text!r}: use an interval such as '15m', '1h', '1d' "
            f"or a cron expression such as '*/15 * * * *' ({exc})"
        ) from None
    return Schedule(text=value, cron=value)
