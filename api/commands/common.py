"""What every command shares: the database from settings, output as text or JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core import eventloop
from core.db import create_engine, create_sessionmaker
from core.errors import ConfigurationError, ValidationError
from core.migrate import at_head, current_revision, head_revision, upgrade
from core.settings import Settings, get_settings

T = TypeVar("T")
console = Console(stderr=True, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def run(coro: Awaitable[T]) -> T:
    """Run a command's coroutine to its end, on the loop core.eventloop picks (uvloop)."""

    async def _wrap() -> T:
        return await coro

    return eventloop.run(_wrap())


async def ensure_schema(engine: AsyncEngine, *, migrate: bool) -> None:
    """Migrate (embedded default) or refuse with a clear message when not at head.

    Alembic is asked only when :func:`core.migrate.at_head` cannot say the schema is
    current: importing it costs some 50 ms of CPU, near a tenth of a command's start-up.
    """
    if migrate:
        await upgrade(engine)
        return
    if not await at_head(engine) and await current_revision(engine) != head_revision():
        raise ConfigurationError("the database schema is not current: run `crmkpi db upgrade`")


@asynccontextmanager
async def database(
    settings: Settings | None = None, *, migrate: bool | None = None
) -> AsyncIterator[tuple[AsyncEngine, Callable[[], AsyncSession]]]:
    """An engine and a session factory; SQLite databases are migrated on first use."""
    settings = settings or get_settings()
    engine = create_engine(settings.database_url)
    try:
        try:
            await ensure_schema(engine, migrate=settings.is_sqlite if migrate is None else migrate)
        except OSError as exc:
            where = engine.url.render_as_string(hide_password=True)
            raise ConfigurationError(f"cannot reach the database {where}: {exc}") from None
        yield engine, create_sessionmaker(engine)
    finally:
        await engine.dispose()


def emit(data: Mapping[str, Any], *, as_json: bool, created_id: str | None = None) -> None:
    """Print a result; the id of what was created comes alone on the last line."""
    if as_json:
        out.print_json(json.dumps(data, default=str))
        return
    for key, value in data.items():
        if key != "id":
            out.print(f"{key}: {value}")
    if created_id is not None:
        out.print(created_id)


def delete_confirmed(
    delete: Callable[[AsyncSession, str], Awaitable[int]],
    target: str,
    *,
    yes: bool,
    refusal: str,
    as_json: bool,
) -> None:
    """``crmkpi … delete ID --yes``: refuse without the confirmation, else run the delete use
    case in one committed session and print the id and how many records went with it."""
    if not yes:
        raise ValidationError(refusal)

    async def _delete() -> dict[str, object]:
        async with database() as (_, sessions), sessions() as session:
            deleted = await delete(session, target)
            await session.commit()
            return {"id": target, "deleted_records": deleted}

    emit(run(_delete()), as_json=as_json)
