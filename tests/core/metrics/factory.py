"""Rows written straight into the normalized model for metrics tests."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import KpiRequest, KpiResult, MetricsExecutor, Scope, build_registry
from core.models import (
    Account,
    Activity,
    Connection,
    Contact,
    Deal,
    DealStageHistory,
    FxRate,
    Lead,
    Organization,
    Pipeline,
    Stage,
    Team,
    User,
    Workspace,
)

SYNCED = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count(1)
REGISTRY = build_registry()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


class Seed:
    """A workspace with one connection, and helpers adding CRM rows to it."""

    def __init__(self, session: AsyncSession, workspace: Workspace, connection: Connection):
        self.session = session
        self.workspace = workspace
        self.connection = connection

    @classmethod
    async def create(
        cls, session: AsyncSession, *, timezone: str = "UTC", currency: str = "USD", **ws: Any
    ) -> Seed:
        org = Organization(name="Acme")
        session.add(org)
        await session.flush()
        workspace = Workspace(
            organization_id=org.id, name="Main", timezone=timezone, currency=currency, **ws
        )
        session.add(workspace)
        await session.flush()
        connection = Connection(workspace_id=workspace.id, connector="hubspot", name="HubSpot")
        session.add(connection)
        await session.flush()
        return cls(session, workspace, connection)

    async def add_connection(self, name: str = "second") -> Connection:
        connection = Connection(workspace_id=self.workspace.id, connector="pipedrive", name=name)
        self.session.add(connection)
        await self.session.flush()
        return connection

    def _synced(self, connection: Connection | None = None) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace.id,
            "connection_id": (connection or self.connection).id,
            "synced_at": SYNCED,
        }

    async def add(self, model: type[Any], **fields: Any) -> Any:
        connection = fields.pop("connection", None)
        fields.setdefault("remote_id", f"r{next(_ids)}")
        row = model(**self._synced(connection), **fields)
        self.session.add(row)
        await self.session.flush()
        return row

    async def deal(self, **fields: Any) -> Deal:
        fields.setdefault("status", "OPEN")
        fields.setdefault("currency", self.workspace.currency)
        if "amount" in fields and not isinstance(fields["amount"], Decimal | None):
            fields["amount"] = Decimal(str(fields["amount"]))
        if "cost" in fields and fields["cost"] is not None:
            fields["cost"] = Decimal(str(fields["cost"]))
        deal: Deal = await self.add(Deal, **fields)
        return deal

    async def deals(self, n: int, **fields: Any) -> None:
        for _ in range(n):
            await self.deal(**fields)

    async def lead(self, **fields: Any) -> Lead:
        lead: Lead = await self.add(Lead, **fields)
        return lead

    async def contact(self, **fields: Any) -> Contact:
        contact: Contact = await self.add(Contact, **fields)
        return contact

    async def activity(self, **fields: Any) -> Activity:
        fields.setdefault("type", "CALL")
        activity: Activity = await self.add(Activity, **fields)
        return activity

    async def user(self, name: str, **fields: Any) -> User:
        user: User = await self.add(User, name=name, **fields)
        return user

    async def team(self, name: str) -> Team:
        team: Team = await self.add(Team, name=name)
        return team

    async def pipeline(self, name: str) -> Pipeline:
        pipeline: Pipeline = await self.add(Pipeline, name=name)
        return pipeline

    async def stage(self, pipeline: Pipeline, name: str, **fields: Any) -> Stage:
        stage: Stage = await self.add(
            Stage, pipeline_remote_id=pipeline.remote_id, name=name, **fields
        )
        return stage

    async def account(self, name: str, **fields: Any) -> Account:
        account: Account = await self.add(Account, name=name, **fields)
        return account

    async def stay(self, deal: Deal, stage: Stage, entered: datetime, exited: datetime | None):
        return await self.add(
            DealStageHistory,
            deal_remote_id=deal.remote_id,
            stage_remote_id=stage.remote_id,
            pipeline_remote_id=stage.pipeline_remote_id,
            entered_at=entered,
            exited_at=exited,
            remote_id=f"{deal.remote_id}:{stage.remote_id}:{entered.timestamp()}",
        )

    async def rate(self, day: date, currency: str, rate: str, base: str = "USD") -> None:
        self.session.add(
            FxRate(
                workspace_id=self.workspace.id,
                base_currency=base,
                currency=currency,
                day=day,
                rate=Decimal(rate),
            )
        )
        await self.session.flush()

    async def run(self, *requests: KpiRequest, now: datetime, currency: str | None = None):
        await self.session.commit()
        results = await MetricsExecutor(REGISTRY).run(
            self.session, Scope((self.workspace.id,), currency), list(requests), now=now
        )
        for result in results:
            if not isinstance(result, KpiResult):
                raise result
        return results

    async def one(self, request: KpiRequest, *, now: datetime) -> KpiResult:
        (result,) = await self.run(request, now=now)
        assert isinstance(result, KpiResult)
        return result
