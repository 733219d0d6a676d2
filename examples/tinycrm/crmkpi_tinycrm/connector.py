"""TinyCRM's connector: token auth, three streams, incremental deals with deletions.

TinyCRM (made up for this example) answers ``GET /api/users``, ``GET /api/pipelines`` and
``GET /api/deals?updated_since=&cursor=`` with ``{"data": [...], "next_cursor": ...}``, and
lists deleted deals at ``GET /api/deals/deleted?since=``. Everything else (retries, rate
limits, paging loop, storage, cursors, quarantine) is the engine's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

from core.simulation.options import SimulatorOptions
from core.sync.connector import (
    ASGIApp,
    Auth,
    Connector,
    CredentialField,
    Cursor,
    MappingError,
    RateLimitPolicy,
    Request,
    Stream,
    StreamContext,
)
from core.sync.pagination import CursorPaginator
from core.sync.records import AnyRecord, DealRecord, PipelineRecord, Record, StageRecord, UserRecord

PAGE_SIZE = 200


def parse_time(value: Any) -> datetime | None:
    """ISO timestamps; a malformed one quarantines the record instead of failing the sync."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise MappingError(f"bad timestamp {value!r}") from None


class TinyStream(Stream):
    """The listing shape every TinyCRM endpoint shares."""

    path: ClassVar[str]
    paginator = CursorPaginator(("next_cursor",), "cursor")

    def first_request(self, ctx: StreamContext) -> Request:
        return Request(path=self.path, params={"limit": PAGE_SIZE})

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        data: Sequence[Mapping[str, Any]] = page["data"]
        return data


class UsersStream(TinyStream):
    name = "users"
    path = "/api/users"
    produces = (UserRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield UserRecord(remote_id=str(raw["id"]), name=raw.get("name"), email=raw.get("email"))


class PipelinesStream(TinyStream):
    name = "pipelines"
    path = "/api/pipelines"
    produces = (PipelineRecord, StageRecord)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        pipeline_id = str(raw["id"])
        yield PipelineRecord(remote_id=pipeline_id, name=raw["name"])
        for order, stage in enumerate(raw["stages"]):
            yield StageRecord(
                remote_id=str(stage["id"]),
                pipeline_remote_id=pipeline_id,
                name=stage["name"],
                display_order=order,
                probability=stage.get("probability"),
                is_closed=stage.get("outcome") is not None,
                is_won=stage.get("outcome") == "won",
            )


class DealsStream(TinyStream):
    """Incremental on ``updated_at`` (ascending, ties by id), so every page commits a cursor."""

    name = "deals"
    path = "/api/deals"
    produces = (DealRecord,)
    incremental = True
    cursor_ordered = True
    finds_deletions = True

    def first_request(self, ctx: StreamContext) -> Request:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        since = ctx.since()
        if since is not None:
            params["updated_since"] = since.isoformat()
        return Request(path=self.path, params=params)

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        updated = parse_time(raw.get("updated_at"))
        return None if updated is None else Cursor(updated, str(raw["id"]))

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        if raw.get("id") in (None, ""):
            raise MappingError("deal without id")
        try:
            amount = None if raw.get("amount") is None else Decimal(str(raw["amount"]))
        except InvalidOperation:
            raise MappingError(f"amount {raw['amount']!r} is not a number") from None
        yield DealRecord(
            remote_id=str(raw["id"]),
            remote_created_at=parse_time(raw.get("created_at")),
            remote_updated_at=parse_time(raw.get("updated_at")),
            name=raw.get("title"),
            amount=amount,
            currency=raw.get("currency"),
            pipeline_remote_id=str(raw["pipeline_id"]),
            stage_remote_id=str(raw["stage_id"]),
            status=str(raw["status"]).upper(),
            owner_remote_id=None if raw.get("owner_id") is None else str(raw["owner_id"]),
            closed_at=parse_time(raw.get("closed_at")),
        )

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        since = ctx.since()
        return Request(
            path=f"{self.path}/deleted",
            params={"since": since.isoformat()} if since is not None else None,
        )

    def next_deletions_request(
        self, page: Any, request: Request, ctx: StreamContext
    ) -> Request | None:
        return None

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        return [(DealRecord, str(row["id"])) for row in page["data"]]


class TinyCrmConnector(Connector):
    name = "tinycrm"
    title = "TinyCRM (example plugin)"
    default_base_url = "https://api.tinycrm.example"
    credential_fields = (CredentialField("api_token", "API token from TinyCRM's settings"),)
    rate_limit = RateLimitPolicy(requests=100, per_seconds=10.0)

    def streams(self) -> Sequence[Stream]:
        return [UsersStream(), PipelinesStream(), DealsStream()]

    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        # A static token: nothing to refresh, so a 401 is final.
        return Auth(headers={"Authorization": f"Token {credentials['api_token']}"})

    @classmethod
    def simulator(cls, options: SimulatorOptions) -> ASGIApp | None:
        from crmkpi_tinycrm.simulator import build_app

        return build_app(seed=options.seed, deals=options.deals, faults=options.faults)

    @classmethod
    def simulator_credentials(cls) -> dict[str, str]:
        from crmkpi_tinycrm.simulator import TOKEN

        return {"api_token": TOKEN}
