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
#: Longest interval: a year (a longer one overflowed the next-run date: issue #20).
MAX_INTERVAL = timedelta(days=366)


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
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
        if seconds > MAX_INTERVAL.total_seconds():
            raise ValidationError(f"schedule {text[:40]!r} is too long: at most every 366d")
        interval = timedelta(seconds=seconds)
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


#: ``full_sync_schedule`` value that turns the automatic full reconciliation off.
FULL_SYNC_OFF = "off"
#: Accepted by :func:`parse_full_sync` to go back to the nightly default (stored as None).
FULL_SYNC_DEFAULT = "default"


def schedule_from_options(every: str | None, cron: str | None, off: bool) -> str | None:
    """The schedule to store from the CLI's and GraphQL's ``every | cron | off`` choice.

    Exactly one must be given: ``every`` must be an interval and ``cron`` a cron expression
    (so a typo in one is not silently read as the other). Returns None for ``off``.
    """
    if [every is not None, cron is not None, off].count(True) != 1:
        raise ValidationError("give exactly one of every (an interval), cron or off")
    if off:
        return None
    if every is not None:
        schedule = parse_schedule(every)
        if schedule.interval is None:
            raise ValidationError(f"every {every!r} is not an interval such as '15m', '1h', '1d'")
        return schedule.text
    schedule = parse_schedule(cron or "")
    if schedule.cron is None:
        raise ValidationError(f"cron {cron!r} is an interval: give it as every")
    return schedule.text


def parse_full_sync(text: str) -> str | None:
    """A connection's reconciliation schedule: an interval or cron, ``"off"``, or
    ``"default"`` (None: nightly)."""
    value = text.strip().lower()
    if value == FULL_SYNC_OFF:
        return FULL_SYNC_OFF
    if value == FULL_SYNC_DEFAULT:
        return None
    return parse_schedule(text).text


def reconciliation_schedule(text: str | None, default: timedelta) -> Schedule | None:
    """The schedule of a connection's full reconciliation; None when it is off."""
    if text is None:
        return Schedule(text="default", interval=default)
    if text == FULL_SYNC_OFF:
        return None
    return parse_schedule(text)


def next_full_sync(
    text: str | None, last_full: datetime | None, now: datetime, default: timedelta
) -> datetime | None:
    """When the next full reconciliation is due: at once if there never was a full run
    (the first sync must read everything), never when reconciliation is off."""
    if last_full is None:
        return now
    schedule = reconciliation_schedule(text, default)
    return None if schedule is None else schedule.next_run(last_full, now)
