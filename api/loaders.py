"""Per-request DataLoaders: a page of records costs one query per referenced table.

Synced records point at each other by remote id within their connection, so every loader
is keyed by ``(connection_id, remote_id)``. Each batch is one ``IN`` query through the
request's tenant-scoped session (core.tenancy filters it like any other query), and it
returns results in key order with ``None`` for a key it did not find.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from strawberry.dataloader import DataLoader

from api.session import SerialSession
from core.models import Account, Contact, Pipeline, Stage, SyncedMixin, User

RemoteKey = tuple[str, str]
RowT = TypeVar("RowT", bound=SyncedMixin)


def _by_remote_id(
    session: SerialSession, model: type[RowT]
) -> Callable[[Sequence[RemoteKey]], Awaitable[list[RowT | None]]]:
    async def load(keys: Sequence[RemoteKey]) -> list[RowT | None]:
        connections = sorted({c for c, _ in keys})
        remote_ids = sorted({r for _, r in keys})
        rows = await session.scalars(
            select(model).where(
                model.connection_id.in_(connections),
                model.remote_id.in_(remote_ids),
                model.deleted_at.is_(None),
            )
        )
        found: dict[RemoteKey, RowT] = {(r.connection_id, r.remote_id): r for r in rows}
        return [found.get(key) for key in keys]

    return load


def _loader(session: SerialSession, model: type[RowT]) -> DataLoader[RemoteKey, RowT | None]:
    return DataLoader(load_fn=_by_remote_id(session, model))


@dataclass(frozen=True)
class Loaders:
    """One loader per referenced table, created for each request (never shared)."""

    user: DataLoader[RemoteKey, User | None]
    pipeline: DataLoader[RemoteKey, Pipeline | None]
    stage: DataLoader[RemoteKey, Stage | None]
    account: DataLoader[RemoteKey, Account | None]
    contact: DataLoader[RemoteKey, Contact | None]

    @classmethod
    def create(cls, session: SerialSession) -> Loaders:
        return cls(
            user=_loader(session, User),
            pipeline=_loader(session, Pipeline),
            stage=_loader(session, Stage),
            account=_loader(session, Account),
            contact=_loader(session, Contact),
        )


async def load_ref(
    loader: DataLoader[RemoteKey, Any], connection_id: str, remote_id: str | None
) -> Any:
    """The referenced row, or None when the reference is empty or unknown."""
    if not remote_id:
        return None
    return await loader.load((connection_id, remote_id))
