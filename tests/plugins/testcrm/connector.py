"""The test CRM connector: small, but uses every part of the contract the engine drives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx

from core.simulation.options import SimulatorOptions
from core.sync.capabilities import Capability, CapabilityStatus, CapabilityUnavailable
from core.sync.connector import (
    ASGIApp,
    Auth,
    Connector,
    CredentialField,
    Cursor,
    HttpClient,
    MappingError,
    OptionField,
    RateLimitPolicy,
    Request,
    Stream,
    StreamContext,
)
from core.sync.pagination import CursorPaginator
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    AnyRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    FxRateRecord,
    PipelineRecord,
    Record,
    StageRecord,
    UserRecord,
    stage_history_id,
)

PAGE_SIZE = 1000


def _dt(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise MappingError(f"bad timestamp {value!r}") from None


def _money(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise MappingError(f"amount {value!r} is not a number") from None


class ListStream(Stream):
    """``/v1/<kind>`` listings: cursor paging, ``updated_since`` reads, a deletions list."""

    kind: ClassVar[str]
    incremental = True
    finds_deletions = True
    cursor_ordered = True
    paginator = CursorPaginator(("next",), "after")

    def first_request(self, ctx: StreamContext) -> Request:
        params: dict[str, Any] = {"limit": PAGE_SIZE}
        since = ctx.since()
        if since is not None:
            params["updated_since"] = since.isoformat()
        return Request(path=f"/v1/{self.kind}", params=params)

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        results: Sequence[Mapping[str, Any]] = page["results"]
        return results

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        updated = _dt(raw.get("updated_at"))
        return None if updated is None else Cursor(updated, str(raw["id"]))

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        since = ctx.since()
        params = {"since": since.isoformat()} if since is not None else None
        return Request(path=f"/v1/deleted/{self.kind}", params=params)

    def next_deletions_request(
        self, page: Any, request: Request, ctx: StreamContext
    ) -> Request | None:
        return None

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        return [(self.produces[0], str(row["id"])) for row in page["results"]]

    @staticmethod
    def common(raw: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "remote_id": str(raw["id"]),
            "remote_created_at": _dt(raw.get("created_at")),
            "remote_updated_at": _dt(raw.get("updated_at")),
        }


class UsersStream(ListStream):
    name = "users"
    kind = "users"
    produces = (UserRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield UserRecord(**self.common(raw), name=raw["name"], email=raw.get("email"))


@dataclass(slots=True)
class TestCrmState:
    """The run's state: each stage's pipeline, learnt by the pipelines stream."""

    stage_pipeline: dict[str, str] = field(default_factory=dict)


def state_of(ctx: StreamContext) -> TestCrmState:
    """The run's TestCrmState (a stream read on its own gets a fresh one)."""
    if not isinstance(ctx.state, TestCrmState):
        ctx.state = TestCrmState()
    state: TestCrmState = ctx.state
    return state


class PipelinesStream(Stream):
    """Full read only; remembers each stage's pipeline for the streams that depend on it."""

    name = "pipelines"
    produces = (PipelineRecord, StageRecord)

    def first_request(self, ctx: StreamContext) -> Request:
        return Request(path="/v1/pipelines")

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        results: Sequence[Mapping[str, Any]] = page["results"]
        return results

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield PipelineRecord(remote_id=raw["id"], name=raw["name"], display_order=raw["order"])
        for order, stage in enumerate(raw["stages"]):
            state_of(ctx).stage_pipeline[stage["id"]] = raw["id"]
            yield StageRecord(
                remote_id=stage["id"],
                pipeline_remote_id=raw["id"],
                name=stage["name"],
                display_order=order,
                probability=stage.get("probability"),
                is_closed=bool(stage.get("closed")),
                is_won=bool(stage.get("won")),
            )


class AccountsStream(ListStream):
    name = "accounts"
    kind = "accounts"
    produces = (AccountRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield AccountRecord(
            **self.common(raw),
            name=raw["name"],
            country=raw.get("country"),
            industry=raw.get("industry"),
            owner_remote_id=raw.get("owner_id"),
        )


class ContactsStream(ListStream):
    name = "contacts"
    kind = "contacts"
    produces = (ContactRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield ContactRecord(
            **self.common(raw),
            name=raw["name"],
            email=raw.get("email"),
            account_remote_id=raw.get("account_id"),
            owner_remote_id=raw.get("owner_id"),
            lifecycle_stage=raw.get("lifecycle"),
            is_lead=raw.get("lifecycle") == "lead",
        )


class DealsStream(ListStream):
    name = "deals"
    kind = "deals"
    depends_on = ("pipelines",)
    produces = (DealRecord, DealStageHistoryRecord)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        common = self.common(raw)
        deal_id = common["remote_id"]
        pipeline = state_of(ctx).stage_pipeline.get(raw["stage_id"], raw["pipeline_id"])
        yield DealRecord(
            **common,
            name=raw["title"],
            amount=_money(raw["amount"]),
            currency=raw["currency"],
            pipeline_remote_id=pipeline,
            stage_remote_id=raw["stage_id"],
            status=raw["status"].upper(),
            owner_remote_id=raw.get("owner_id"),
            account_remote_id=raw.get("account_id"),
            closed_at=_dt(raw.get("closed_at")),
            custom=raw.get("custom"),
        )
        history = raw.get("history") or []
        for n, stay in enumerate(history):
            entered = _dt(stay["entered_at"])
            assert entered is not None
            exited = _dt(history[n + 1]["entered_at"]) if n + 1 < len(history) else None
            yield DealStageHistoryRecord(
                remote_id=stage_history_id(deal_id, stay["stage_id"], entered),
                deal_remote_id=deal_id,
                stage_remote_id=stay["stage_id"],
                pipeline_remote_id=pipeline,
                entered_at=entered,
                exited_at=exited,
            )


class ActivitiesStream(ListStream):
    name = "activities"
    kind = "activities"
    produces = (ActivityRecord,)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield ActivityRecord(
            **self.common(raw),
            type=raw["type"].upper(),
            subject=raw.get("subject"),
            owner_remote_id=raw.get("owner_id"),
            deal_remote_id=raw.get("deal_id"),
            done_at=_dt(raw.get("done_at")),
        )


class FxStream(Stream):
    name = "fx"
    produces = ()

    def first_request(self, ctx: StreamContext) -> Request:
        return Request(path="/v1/fx")

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        results: Sequence[Mapping[str, Any]] = page["results"]
        return results

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield FxRateRecord(
            base_currency=raw["base"],
            currency=raw["currency"],
            day=date.fromisoformat(raw["day"]),
            rate=Decimal(raw["rate"]),
        )


FORECASTS = "forecasts"
#: The KPIs that answer null while no connection in scope has forecasts (gate tests).
FORECAST_KPIS = ("winRate",)


def forecasts_request() -> Request:
    return Request(path="/v1/forecasts", capability=FORECASTS)


class ForecastsStream(Stream):
    """An optional object: accounts on a plan without forecasts answer 403. The stream is
    skipped there; the test CRM stores nothing it reads (it exists for capabilities)."""

    name = "forecasts"
    requires = (FORECASTS,)
    produces = ()

    def first_request(self, ctx: StreamContext) -> Request:
        return forecasts_request()

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        results: Sequence[Mapping[str, Any]] = page["results"]
        return results

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return ()


class TestCrmConnector(Connector):
    __test__ = False  # not a pytest test class

    name = "testcrm"
    title = "Test CRM (simulator)"
    default_base_url = "http://127.0.0.1:8765"
    credential_fields = (
        CredentialField("refresh_token", "OAuth refresh token"),
        CredentialField("account", "Account name", secret=False, required=False),
    )
    rate_limit = RateLimitPolicy(
        requests=2000,
        per_seconds=1.0,
        remaining_header="x-ratelimit-remaining",
        reset_header="x-ratelimit-reset",
    )
    option_fields = (OptionField("region", "Data centre of the account", default="eu"),)

    def new_state(self, options: Mapping[str, str]) -> TestCrmState:
        return TestCrmState()

    def streams(self) -> Sequence[Stream]:
        return [
            UsersStream(),
            PipelinesStream(),
            AccountsStream(),
            ContactsStream(),
            DealsStream(),
            ActivitiesStream(),
            FxStream(),
            ForecastsStream(),
        ]

    async def discover(self, http: HttpClient, ctx: StreamContext) -> Sequence[Capability]:
        """One probe: the forecasts listing answers 403 on plans without them."""
        title = "Forecasts"
        try:
            await http.send(forecasts_request())
        except CapabilityUnavailable as exc:
            return [
                Capability(
                    FORECASTS,
                    title,
                    CapabilityStatus.UNAVAILABLE,
                    exc.reason,
                    streams=(ForecastsStream.name,),
                    kpis=FORECAST_KPIS,
                )
            ]
        return [
            Capability(
                FORECASTS,
                title,
                CapabilityStatus.AVAILABLE,
                streams=(ForecastsStream.name,),
                kpis=FORECAST_KPIS,
            )
        ]

    def unavailable_reason(self, response: httpx.Response) -> str | None:
        if response.status_code == 403 and "not enabled" in response.text:
            return f"not enabled on this plan (HTTP {response.status_code})"
        return None

    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        response = await http.post(
            f"{base_url.rstrip('/')}/oauth/token",
            json={"refresh_token": credentials.get("refresh_token", "")},
        )
        response.raise_for_status()
        return Auth(headers={"Authorization": f"Bearer {response.json()['access_token']}"})

    @classmethod
    def simulator(cls, options: SimulatorOptions) -> ASGIApp | None:
        from tests.plugins.testcrm.dataset import Dataset
        from tests.plugins.testcrm.simulator import Simulator

        dataset = Dataset.sized(options.deals)
        dataset.warm()
        app: ASGIApp = Simulator(dataset).app(options.faults)
        return app

    @classmethod
    def simulator_credentials(cls) -> dict[str, str]:
        from tests.plugins.testcrm.simulator import REFRESH_TOKEN

        return {"refresh_token": REFRESH_TOKEN, "account": "demo"}
