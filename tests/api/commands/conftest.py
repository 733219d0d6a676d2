"""A workspace for CLI tests, made in-process on the test database of each backend."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.organizations import create_organization, create_workspace


@pytest.fixture
async def workspace(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> tuple[str, dict[str, str]]:
    """A workspace made in-process (``sessionmaker`` empties the tables after the test)."""
    async with sessionmaker() as session:
        org = await create_organization(session, "Acme")
        ws = await create_workspace(session, organization_id=org.id, name="EU")
        await session.commit()
    return ws.id, {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}
