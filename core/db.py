"""Engines and sessions (the dialect-aware SQL the writers share, upsert, ON CONFLICT and IN,
is core.sqlwrite, re-exported here)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import (
    Engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from core.errors import ConfigurationError, CrmkpiError

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_log = structlog.get_logger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1 << 16)
def _hour_offset(hour: str, timezone: str) -> int | None:
    """UTC offset in seconds throughout the UTC hour ``YYYY-MM-DD HH``, or None when it
    changes within that hour (a DST transition off the UTC hour: computed exactly)."""
    start = datetime.fromisoformat(f"{hour}:00:00").replace(tzinfo=UTC)
    zone = _zone(timezone)
    first = start.astimezone(zone).utcoffset()
    last = (start + timedelta(seconds=3599)).astimezone(zone).utcoffset()
    return int(first.total_seconds()) if first == last and first is not None else None


def _local_day(stored: str | None, timezone: str | None) -> int | None:
    """SQLite's ``crmkpi_local_day(ts, tz)``: days since 1970-01-01 of a stored UTC
    timestamp's local date in ``tz`` (PostgreSQL does this natively; see
    core.metrics._sql.LocalDay). Offsets are cached per UTC hour: this runs once per row."""
    if stored is None or timezone is None:
        return None
    offset = _hour_offset(stored[:13], timezone)
    if offset is None:
        instant = datetime.fromisoformat(stored).replace(tzinfo=UTC)
        return instant.astimezone(_zone(timezone)).date().toordinal() - _EPOCH_ORDINAL
    day = date(int(stored[:4]), int(stored[5:7]), int(stored[8:10])).toordinal()
    seconds = int(stored[11:13]) * 3600 + int(stored[14:16]) * 60 + int(stored[17:19]) + offset
    return day - _EPOCH_ORDINAL + seconds // 86400


class StatementTimeout(CrmkpiError):
    """A statement ran longer than an API request's statement timeout and was stopped."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"the query ran longer than the {seconds:g} s limit and was stopped: ask for a "
            "shorter period, a coarser granularity or fewer KPIs"
        )


class Deadline:
    """When the statement running on one SQLite connection must stop (None: never).

    SQLite has no statement timeout; a progress handler, called every few thousand virtual
    machine steps in the connection's thread, interrupts the statement once the deadline
    set by the API's session (api.session) has passed. Writers never set one."""

    __slots__ = ("at",)

    def __init__(self) -> None:
        self.at: float | None = None

    def expired(self) -> int:
        at = self.at
        return 1 if at is not None and time.monotonic() > at else 0


#: Where a pooled SQLite connection keeps its Deadline (``Connection.info``).
DEADLINE = "crmkpi.deadline"
_PROGRESS_STEPS = 20_000


def is_statement_timeout(exc: DBAPIError) -> bool:
    """Whether the driver error is a cancelled statement: SQLite "interrupted" (the
    progress handler), PostgreSQL SQLSTATE 57014 (statement_timeout)."""
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        return "interrupted" in str(orig)
    for candidate in (orig, getattr(orig, "__cause__", None)):
        if getattr(candidate, "sqlstate", None) == "57014":
            return True
    return False


def _create_private(path: Path) -> None:
    """The database file is created readable by its owner only (0600): it holds API key
    hashes, encrypted credentials and every customer's CRM data. SQLite gives its WAL and
    shared-memory files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def _sqlite_pragmas(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """WAL lets the API read while a sync writes; busy_timeout waits instead of failing;
    the progress handler enforces an API request's statement timeout (Deadline)."""
    dbapi_connection.create_function("crmkpi_local_day", 2, _local_day, deterministic=True)
    deadline = Deadline()
    record.info[DEADLINE] = deadline
    dbapi_connection.await_(
        dbapi_connection.driver_connection.set_progress_handler(deadline.expired, _PROGRESS_STEPS)
    )
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _closed_at_checkout(
    dbapi_connection: Any, _record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """A pooled PostgreSQL connection the server has closed (restart, idle timeout,
    ``pg_terminate_backend``) is known closed to asyncpg as soon as the event loop saw the
    socket close: replace it at checkout, which costs no round trip (the pool tries another
    connection on DisconnectionError). A connection dropped silently is caught by the first
    statement instead (:class:`RetryingSession`, :func:`retry_if_dropped`)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the database closed this pooled connection")


def _dropped(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class RetryingSession(Session):
    """A session whose first statement is retried once on a fresh connection when the
    connection it got turns out to be dropped.

    This replaces the pool's pre-ping, a ``SELECT 1`` round trip before *every* checkout
    (14% of a cached API request's CPU, issue #19): dropped connections are rare, so they
    are handled when met. Only a statement that opens the session's transaction is
    retried, with nothing pending to flush: nothing of the transaction is lost by rolling
    back and running it again. A connection that drops later in a transaction fails that
    transaction, as it did with pre-ping."""

    def _execute_internal(self, statement: Any, params: Any = None, **kw: Any) -> Any:
        first = not self.in_transaction() and not (self.new or self.dirty or self.deleted)
        try:
            return super()._execute_internal(statement, params, **kw)
        except DBAPIError as exc:
            if not (first and _dropped(exc)):
                raise
        self.rollback()
        _log.warning("db.connection_dropped", retried=True)
        return super()._execute_internal(statement, params, **kw)


async def retry_if_dropped(work: Callable[[], Awaitable[T]]) -> T:
    """``work()`` (which checks out its own connection), once more if its connection was
    found dropped: for reads outside sessions (:class:`RetryingSession` covers those)."""
    try:
        return await work()
    except DBAPIError as exc:
        if not _dropped(exc):
            raise
    _log.warning("db.connection_dropped", retried=True)
    return await work()


#: PostgreSQL engines whose every connection starts with a statement timeout (ms).
_LIMITED: weakref.WeakKeyDictionary[Engine, int] = weakref.WeakKeyDictionary()


def milliseconds(seconds: float) -> int:
    """A statement timeout in PostgreSQL's unit (at least 1 ms: 0 would mean none)."""
    return max(1, int(seconds * 1000))


def statement_limit(engine: AsyncEngine) -> int | None:
    """The statement timeout (ms) every connection of ``engine`` starts its session with,
    None when it has none (see ``create_engine(statement_timeout=)``)."""
    return _LIMITED.get(engine.sync_engine)


def autocommit_reads(engine: AsyncEngine) -> AsyncEngine:
    """``engine``'s pool with every statement its own transaction (PostgreSQL): for
    sessions that only read statements independent of each other (a request's concurrent
    readers, core.metrics.fetch, each statement already in a snapshot of its own), which
    then send no BEGIN before their reads and no ROLLBACK after (issue #19). Keeps
    ``engine``'s statement timeout, a setting of each connection; SET LOCAL would do
    nothing outside a transaction, so it needs one."""
    reads = engine.execution_options(isolation_level="AUTOCOMMIT")
    limit = statement_limit(engine)
    if limit is not None:
        _LIMITED[reads.sync_engine] = limit
    return reads


def create_engine(
    url: str, *, echo: bool = False, statement_timeout: float | None = None
) -> AsyncEngine:
    """An async engine for ``sqlite+aiosqlite://`` or ``postgresql+asyncpg://`` URLs.

    ``statement_timeout`` (PostgreSQL only) is set once per pooled connection, in its
    startup packet, so its transactions need no ``SET LOCAL`` round trip each (issue #19):
    for API requests' own engine (api.session.RequestSessions), never for writers'. A
    transaction lifts it with ``SET LOCAL statement_timeout = 0``. SQLite ignores it (the
    API's session sets a Deadline per statement instead)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"invalid database URL: {exc}") from None
    if parsed.drivername == "sqlite+aiosqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database))
        engine = create_async_engine(parsed, echo=echo)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql+asyncpg":
        # JIT off: metric statements carry hundreds of conditional aggregates, and compiling
        # them costs seconds for queries that run in milliseconds. No pre-ping: see
        # RetryingSession.
        server_settings = {"jit": "off"}
        if statement_timeout is not None:
            server_settings["statement_timeout"] = str(milliseconds(statement_timeout))
        engine = create_async_engine(
            parsed,
            echo=echo,
            pool_size=10,
            max_overflow=10,
            connect_args={"server_settings": server_settings},
        )
        event.listen(engine.sync_engine.pool, "checkout", _closed_at_checkout)
        if statement_timeout is not None:
            _LIMITED[engine.sync_engine] = milliseconds(statement_timeout)
        return engine
    raise ConfigurationError(
        f"unsupported database driver {parsed.drivername!r}: "
        "use sqlite+aiosqlite:// or postgresql+asyncpg://"
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that retry a first statement met with a dropped connection (RetryingSession)."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=RetryingSession)


@asynccontextmanager
async def session_scope(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session committed on success and rolled back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# The writers' shared SQL lives in core.sqlwrite (kept importable from here).
from core.sqlwrite import among as among  # noqa: E402
from core.sqlwrite import on_conflict as on_conflict  # noqa: E402
from core.sqlwrite import upsert as upsert  # noqa: E402
