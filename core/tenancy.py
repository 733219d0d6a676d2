"""Tenancy: API keys, the viewer they give, and THE one place that scopes data to it.

Every ORM query run through a session that carries a viewer (``tenant_session``) is filtered
to the viewer's workspaces by a ``do_orm_execute`` hook, whatever resolver or loader built it;
an id outside them is indistinguishable from an id that does not exist. Sessions without a
viewer (CLI, sync workers) are trusted system sessions.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria

from core import viewer_changes  # noqa: F401  (registers the hooks that tell key caches)
from core.errors import NotFoundError, ValidationError
from core.models import (
    ApiKey,
    Connection,
    FxRate,
    Organization,
    RecordError,
    Spend,
    SurveyResponse,
    SyncedMixin,
    SyncRun,
    Target,
    UserKpi,
    Visitors,
    Workspace,
    utcnow,
)
from core.models.enums import Role

KEY_PREFIX = "ck_"
_ROLES = {r.value for r in Role}
#: Tables whose rows belong to one workspace through a ``workspace_id`` column.
_WORKSPACE_SCOPED: tuple[type[Any], ...] = (
    SyncedMixin,
    Connection,
    SyncRun,
    RecordError,
    Spend,
    Visitors,
    SurveyResponse,
    Target,
)


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is calling: an API key's organization, role and readable workspaces."""

    api_key_id: str
    organization_id: str
    role: Role
    workspace_ids: frozenset[str]
    #: True when the key is limited to a list of workspaces (not the whole organization).
    restricted: bool = False

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.EDITOR)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def require_workspace(self, workspace_id: str) -> str:
        """``workspace_id`` if readable; otherwise not found, exactly like a missing id."""
        if workspace_id not in self.workspace_ids:
            raise NotFoundError(f"workspace {workspace_id!r} not found")
        return workspace_id


def hash_key(plain: str) -> str:
    """SHA-256 of a key: keys are 256-bit random, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(plain.encode()).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


#: More workspaces than this in one key is a mistake: use an organization-wide key.
MAX_KEY_WORKSPACES = 100


async def create_api_key(
    session: AsyncSession,
    *,
    organization_id: str,
    role: str = "viewer",
    workspace_ids: Sequence[str] | None = None,
    name: str = "",
) -> tuple[ApiKey, str]:
    """A new key; the plain key is returned once and never stored.

    The one use case behind ``crmkpi apikey create`` and ``createApiKey`` (which first
    checks the caller may grant those workspaces).
    """
    if workspace_ids is not None and not 1 <= len(workspace_ids) <= MAX_KEY_WORKSPACES:
        raise ValidationError(
            f"a key is limited to 1 to {MAX_KEY_WORKSPACES} workspaces, or to none (all of them)"
        )
    if role not in _ROLES:
        raise ValidationError(f"role must be one of {', '.join(sorted(_ROLES))}, not {role!r}")
    if await session.get(Organization, organization_id) is None:
        raise NotFoundError(f"organization {organization_id!r} not found")
    if workspace_ids:
        found = set(
            (
                await session.scalars(
                    select(Workspace.id).where(
                        Workspace.id.in_(workspace_ids),
                        Workspace.organization_id == organization_id,
                    )
                )
            ).all()
        )
        missing = [w for w in workspace_ids if w not in found]
        if missing:
            raise NotFoundError(f"workspace {missing[0]!r} not found")
    plain = generate_key()
    key = ApiKey(
        organization_id=organization_id,
        name=name[:200],
        prefix=plain[: len(KEY_PREFIX) + 6],
        key_hash=hash_key(plain),
        role=role,
        workspace_ids=list(workspace_ids) if workspace_ids else None,
    )
    session.add(key)
    await session.flush()
    return key, plain


async def authenticate(session: AsyncSession, plain: str) -> Viewer | None:
    """The viewer of a bearer key, or None for an unknown or revoked key."""
    if not plain.startswith(KEY_PREFIX):
        return None
    key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(plain)))
    if key is None or key.revoked_at is not None:
        return None
    org_workspaces = (
        await session.scalars(
            select(Workspace.id).where(Workspace.organization_id == key.organization_id)
        )
    ).all()
    allowed = set(org_workspaces)
    if key.workspace_ids is not None:
        allowed &= set(key.workspace_ids)
    key.last_used_at = utcnow()
    return Viewer(
        key.id,
        key.organization_id,
        Role(key.role),
        frozenset(allowed),
        restricted=key.workspace_ids is not None,
    )


def manages_key(viewer: Viewer, key: ApiKey) -> bool:
    """A key limited to some workspaces only manages keys limited to some of the same."""
    if key.organization_id != viewer.organization_id:
        return False
    if not viewer.restricted:
        return True
    return key.workspace_ids is not None and set(key.workspace_ids) <= viewer.workspace_ids


async def revoke_api_key(session: AsyncSession, key_id: str, *, by: Viewer | None = None) -> ApiKey:
    """Refuse the key from now on; revoking twice keeps the first revocation time.

    The one revocation use case: ``revokeApiKey`` passes the caller (``by``: only keys it
    manages, others are "not found"), ``crmkpi apikey revoke`` none (the CLI is trusted)."""
    key = await session.get(ApiKey, key_id)
    if key is None or (by is not None and not manages_key(by, key)):
        raise NotFoundError(f"API key {key_id!r} not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return key


@functools.lru_cache(maxsize=1024)
def _viewer_options(org_id: str, workspace_ids: frozenset[str]) -> tuple[Any, ...]:
    """The loader criteria scoping statements to one viewer's organization and workspaces.

    Built once per (organization, workspaces) and reused by every statement: building them
    (eleven options whose lambdas SQLAlchemy analyses) was ~15% of an uncached metrics
    request's Python CPU when done per statement (issue #19). They are immutable and carry
    their ids as bound values, so a statement given the same options reads the same rows."""
    ids = sorted(workspace_ids)
    options = [
        with_loader_criteria(scoped, lambda cls: cls.workspace_id.in_(ids), include_aliases=True)
        for scoped in _WORKSPACE_SCOPED
    ]
    options += [
        with_loader_criteria(Workspace, lambda cls: cls.id.in_(ids), include_aliases=True),
        with_loader_criteria(Organization, lambda cls: cls.id == org_id, include_aliases=True),
        with_loader_criteria(
            ApiKey, lambda cls: cls.organization_id == org_id, include_aliases=True
        ),
        with_loader_criteria(
            UserKpi,
            lambda cls: (
                (cls.organization_id == org_id)
                & (cls.workspace_id.is_(None) | cls.workspace_id.in_(ids))
            ),
            include_aliases=True,
        ),
        with_loader_criteria(
            FxRate,
            lambda cls: cls.workspace_id.is_(None) | cls.workspace_id.in_(ids),
            include_aliases=True,
        ),
    ]
    return tuple(options)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_viewer(state: ORMExecuteState) -> None:
    viewer: Viewer | None = state.session.info.get("viewer")
    if viewer is None or not (state.is_select or state.is_update or state.is_delete):
        return
    options = _viewer_options(viewer.organization_id, frozenset(viewer.workspace_ids))
    state.statement = state.statement.options(*options)


@asynccontextmanager
async def tenant_session(
    sessionmaker: async_sessionmaker[AsyncSession], viewer: Viewer | None
) -> AsyncIterator[AsyncSession]:
    """A session whose every ORM query is scoped to ``viewer`` (system session if None)."""
    async with sessionmaker() as session:
        if viewer is not None:
            session.info["viewer"] = viewer
        yield session
