from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import respx

from connectors.salesforce import currencies, deletions, objects, streams
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.state import run_state
from core.models.enums import SyncMode
from core.sync import read_stream
from core.sync.capabilities import Capabilities, Capability, CapabilityStatus
from core.sync.connector import Cursor, Request, StreamContext
from core.sync.discovery import skip_reason
from core.sync.errors import RequestFailed
from core.sync.records import (
    AccountRecord,
    CurrencyRecord,
    DealRecord,
    FxRateRecord,
)
from tests.connectors.salesforce.conftest import load_fixture

LOGIN = "https://login.salesforce.com"
INSTANCE = "https://acme.my.salesforce.com"
DATA = f"{INSTANCE}/services/data/v66.0"
TOKEN = {"access_token": "00Dxx!tok", "instance_url": INSTANCE, "token_type": "Bearer"}
CREDS = {"client_id": "cid", "client_secret": "secret", "refresh_token": "rt"}


class Http:
    """The HttpClient protocol over httpx, authenticated once through the connector."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        url = request.path if request.path.startswith("http") else INSTANCE + request.path
        response = await self.client.get(url, params=request.params)
        response.raise_for_status()
        return response.json()


def soql_of(request: httpx.Request) -> str:
    return parse_qs(urlparse(str(request.url)).query)["q"][0]


def ctx(mode: SyncMode = SyncMode.FULL, cursor: Cursor | None = None) -> StreamContext:
    return StreamContext(
        "c1", mode, start_cursor=cursor, now=datetime(2026, 11, 25, 12, tzinfo=UTC)
    )


async def drain(stream: streams.SalesforceStream, context: StreamContext) -> list[Any]:
    """Read every page of ``stream`` as the engine does and return the mapped records."""
    if stream.deleted_type is not None:  # no deletion in these recordings: an empty bin
        respx.get(f"{DATA}/queryAll").respond(json={"totalSize": 0, "done": True, "records": []})
    async with httpx.AsyncClient() as client:
        result = await read_stream(stream, Http(client), context)
        return list(result.records)


@respx.mock
async def test_deals_select_described_fields_and_follow_next_records_url() -> None:
    describe = respx.get(f"{DATA}/sobjects/Opportunity/describe").respond(
        json=load_fixture("describe_opportunity.json")
    )
    page_2 = respx.get(f"{DATA}/query/01gRO0000016PIAYA2-3").respond(
        json={**load_fixture("opportunities_page_2.json"), "records": []}
    )
    first = respx.get(f"{DATA}/query").respond(json=load_fixture("opportunities_page_1.json"))
    records = await drain(streams.DealsStream(), ctx())
    assert describe.call_count == 1 and page_2.call_count == 1
    query = soql_of(first.calls.last.request)
    fields = query.split(" FROM Opportunity")[0]
    assert "CurrencyIsoCode" in fields and "Region__c" in fields and "Loss_Reason__c" in fields
    assert "Site_Location__c" not in fields  # compound (location) fields cannot be selected
    assert "NextStep" not in fields  # not wanted by the mapping
    assert "(SELECT StageName, CreatedDate FROM OpportunityHistories ORDER BY CreatedDate)" in query
    assert "WHERE" not in query  # a full read
    assert query.endswith("ORDER BY SystemModstamp, Id")
    deals = [r for r in records if isinstance(r, DealRecord)]
    assert [d.remote_id for d in deals] == [
        "006RO00000Ab1cDYAR",
        "006RO00000Ab1cEYAR",
        "006RO00000Ab1cFYAR",
    ]


@respx.mock
async def test_single_currency_org_reads_the_org_currency_once() -> None:
    described = load_fixture("describe_opportunity.json")
    described["fields"] = [f for f in described["fields"] if f["name"] != "CurrencyIsoCode"]
    respx.get(f"{DATA}/sobjects/Opportunity/describe").respond(json=described)

    def answer(request: httpx.Request) -> httpx.Response:
        if "FROM Organization" in soql_of(request):
            return httpx.Response(200, json=load_fixture("organization_single_currency.json"))
        assert "CurrencyIsoCode" not in soql_of(request)
        return httpx.Response(200, json=load_fixture("opportunities_single_currency.json"))

    route = respx.get(f"{DATA}/query").mock(side_effect=answer)
    context = ctx()
    records = await drain(streams.DealsStream(), context)
    assert records[0].currency == "CAD"
    await drain(streams.DealsStream(), context)  # same run: the currency is known
    assert sum("FROM Organization" in soql_of(c.request) for c in route.calls) == 1


@respx.mock
async def test_incremental_read_filters_from_cursor_minus_lookback() -> None:
    respx.get(f"{DATA}/sobjects/Account/describe").respond(
        json={"fields": [{"name": n, "type": "string"} for n in ("Id", "Name", "SystemModstamp")]}
    )
    route = respx.get(f"{DATA}/query").respond(json=load_fixture("accounts.json"))
    cursor = Cursor(datetime(2026, 11, 1, 10, 30, 15, 500000, tzinfo=UTC), "001X")
    stream = objects.AccountsStream()
    records = await drain(stream, ctx(SyncMode.INCREMENTAL, cursor))
    assert isinstance(records[0], AccountRecord)
    query = soql_of(route.calls.last.request)
    assert query == (
        "SELECT Id, SystemModstamp, Name FROM Account WHERE SystemModstamp >= "
        "2026-11-01T10:20:15Z AND SystemModstamp <= 2026-11-25T12:00:00Z "
        "ORDER BY SystemModstamp, Id"
    )
    raw = load_fixture("accounts.json")["records"][0]
    assert stream.cursor_of(raw) == Cursor(datetime(2026, 7, 2, tzinfo=UTC), "001RO00000Xy7zQYAR")
    assert stream.cursor_of({"Id": "x", "SystemModstamp": "garbage"}) is None


def test_full_mode_ignores_the_cursor() -> None:
    cursor = Cursor(datetime(2026, 11, 1, tzinfo=UTC), "x")
    query = objects.ContactsStream().query(ctx(SyncMode.FULL, cursor))
    assert "WHERE" not in query


def test_deletions_come_from_query_all_on_is_deleted() -> None:
    cursor = Cursor(datetime(2026, 11, 1, tzinfo=UTC), "x")
    request = deletions.query_all(run_state(ctx()).api, "Opportunity", cursor.updated_at)
    assert request.path == "/services/data/v66.0/queryAll"
    assert request.params == {
        "q": "SELECT Id, SystemModstamp FROM Opportunity WHERE IsDeleted = true AND "
        "SystemModstamp >= 2026-11-01T00:00:00Z ORDER BY SystemModstamp, Id"
    }
    page = {"totalSize": 2, "done": True, "records": [{"Id": "006A"}, {"Id": "006B"}]}
    assert deletions.ids_of(page) == ["006A", "006B"]
    assert objects.UsersStream().deleted_type is None  # deactivated, never deleted
    assert streams.StagesStream().deleted_type is None


def test_activities_read_archived_rows_with_query_all() -> None:
    request = objects.TasksStream().first_request(ctx())
    assert request.path == "/services/data/v66.0/queryAll"
    assert "WHERE IsDeleted = false" in request.params["q"]  # type: ignore[index]
    assert objects.AccountsStream().first_request(ctx()).path == "/services/data/v66.0/query"


def test_next_records_url_is_followed_as_is_and_never_twice() -> None:
    stream = objects.AccountsStream()
    first = stream.first_request(ctx())
    page = {"done": False, "nextRecordsUrl": "/services/data/v66.0/query/01gX-2000", "records": []}
    nxt = stream.next_request(page, first, ctx())
    assert nxt == Request(path="/services/data/v66.0/query/01gX-2000")
    assert stream.next_request({"done": True, "records": []}, first, ctx()) is None
    with pytest.raises(RuntimeError):
        stream.next_request(page, nxt, ctx())  # type: ignore[arg-type]


def test_fx_streams_skip_single_currency_orgs() -> None:
    """Single-currency orgs have no CurrencyType: both rate streams are SKIPPED with the
    capability's reason, and an undiscovered org's INVALID_TYPE is classified the same."""
    single = Capabilities(
        [
            Capability("currency_types", "Multiple currencies", CapabilityStatus.UNAVAILABLE, "x"),
            Capability("dated_rates", "Dated rates", CapabilityStatus.UNAVAILABLE, "y"),
        ]
    )
    for stream in (currencies.CurrenciesStream(), currencies.DatedRatesStream()):
        assert skip_reason(stream, single) == "Multiple currencies: x"
    invalid = httpx.Response(
        400,
        json=[
            {
                "message": "sObject type 'CurrencyType' is not supported.",
                "errorCode": "INVALID_TYPE",
            }
        ],
    )
    assert "INVALID_TYPE" in (SalesforceConnector().unavailable_reason(invalid) or "")
    request = currencies.CurrenciesStream().first_request(ctx())
    assert request is not None and request.capability == "currency_types"


@respx.mock
async def test_fx_streams_read_rates_against_the_corporate_currency() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        query = soql_of(request)
        if "IsCorporate = true" in query:
            return httpx.Response(
                200, json={"totalSize": 1, "done": True, "records": [{"IsoCode": "USD"}]}
            )
        name = "dated_rates.json" if "DatedConversionRate" in query else "currency_types.json"
        return httpx.Response(200, json=load_fixture(name))

    respx.get(f"{DATA}/query").mock(side_effect=answer)
    context = ctx()
    dated = await drain(currencies.DatedRatesStream(), context)
    assert [(r.currency, r.day.isoformat()) for r in dated] == [
        ("EUR", "0001-01-01"),
        ("EUR", "2026-10-01"),
    ]
    usd, eur, jpy = load_fixture("currency_types.json")["records"]
    stream = currencies.CurrenciesStream()
    (corporate,) = stream.map(usd, context)  # the corporate currency itself: no rate
    assert isinstance(corporate, CurrencyRecord) and corporate.remote_id == "USD"
    currency, rate = stream.map(eur, context)
    assert isinstance(currency, CurrencyRecord) and currency.code == "EUR" and currency.active
    assert isinstance(rate, FxRateRecord) and rate.day == context.now.date()  # type: ignore[union-attr]
    (inactive,) = stream.map(jpy, context)
    assert isinstance(inactive, CurrencyRecord) and inactive.active is False


@respx.mock
async def test_orgs_without_dated_rates_take_today_s_rates_from_currency_type() -> None:
    """Multi-currency without advanced currency management: CurrencyType only (the dated
    rates stream is SKIPPED by its capability)."""

    def answer(request: httpx.Request) -> httpx.Response:
        query = soql_of(request)
        assert "DatedConversionRate" not in query
        if "IsCorporate = true" in query:
            return httpx.Response(
                200, json={"totalSize": 1, "done": True, "records": [{"IsoCode": "USD"}]}
            )
        return httpx.Response(200, json=load_fixture("currency_types.json"))

    respx.get(f"{DATA}/query").mock(side_effect=answer)
    context = ctx()
    no_acm = Capabilities(
        [Capability("dated_rates", "Dated rates", CapabilityStatus.UNAVAILABLE, "no ACM")]
    )
    assert skip_reason(currencies.DatedRatesStream(), no_acm) == "Dated rates: no ACM"
    got = await drain(currencies.CurrenciesStream(), context)
    assert [r.code for r in got if isinstance(r, CurrencyRecord)] == ["USD", "EUR", "JPY"]
    rates = [r for r in got if isinstance(r, FxRateRecord)]
    # JPY is inactive with no usable rate: a currency without a rate, not an error
    assert [(r.currency, r.day) for r in rates] == [("EUR", context.now.date())]  # type: ignore[union-attr]


def test_api_version_option_is_shared_by_the_connector_and_its_streams() -> None:
    connector = SalesforceConnector()
    context = ctx()
    context.state = connector.new_state({"api_version": "62.0"})
    paths = {s.first_request(context).path for s in connector.streams()}  # type: ignore[union-attr]
    assert paths == {"/services/data/v62.0/query", "/services/data/v62.0/queryAll"}


def test_every_stream_has_a_unique_name() -> None:
    names = [s.name for s in SalesforceConnector().streams()]
    assert len(names) == len(set(names))
    assert {
        "users",
        "teams",
        "pipelines",
        "stages",
        "accounts",
        "contacts",
        "leads",
        "deals",
    } <= set(names)


def test_look_back_is_applied_to_incremental_reads_only() -> None:
    cursor = Cursor(datetime(2026, 11, 1, tzinfo=UTC), "x")
    context = ctx(SyncMode.INCREMENTAL, cursor)
    context.lookback = timedelta(hours=1)
    assert "SystemModstamp >= 2026-10-31T23:00:00Z" in streams.LeadsStream().query(context)
    assert "WHERE" not in streams.StagesStream().query(context)  # stages are read whole


def test_leads_read_status_history_only_where_the_org_has_it() -> None:
    stream = streams.LeadsStream()
    context = ctx()
    described = {"fields": [{"name": "Id"}, {"name": "Status"}], "childRelationships": []}
    run_state(context).describes["Lead"] = described
    assert "Histories" not in stream.query(context)
    described["childRelationships"] = [
        {"relationshipName": "Histories", "childSObject": "LeadHistory"}
    ]
    assert stream.query(context) == (
        "SELECT Id, Status, (SELECT Field, OldValue, NewValue, CreatedDate FROM Histories "
        "WHERE Field = 'Status' ORDER BY CreatedDate) FROM Lead ORDER BY SystemModstamp, Id"
    )


def test_deals_skip_the_history_subquery_where_the_org_hides_it() -> None:
    context = ctx()
    described = load_fixture("describe_opportunity.json")
    run_state(context).describes["Opportunity"] = described
    assert "FROM OpportunityHistories" in streams.DealsStream().query(context)
    described["childRelationships"] = []
    assert "OpportunityHistories" not in streams.DealsStream().query(context)


async def test_recent_windows_read_deletions_from_get_deleted_older_ones_from_query_all() -> None:
    api = run_state(ctx()).api
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    since = datetime(2026, 11, 20, 8, 20, tzinfo=UTC)
    log = {
        "deletedRecords": [{"id": "003A", "deletedDate": "2026-11-21T10:00:00.000+0000"}],
        "earliestDateAvailable": "2026-11-10T00:00:00.000+0000",
        "latestDateCovered": "2026-11-25T12:00:00.000+0000",
    }
    recycle = {"totalSize": 1, "done": True, "records": [{"Id": "003B"}]}

    class Scripted:
        def __init__(self, answer: Any) -> None:
            self.answer, self.sent = answer, []  # type: list[Request]

        async def send(self, request: Request) -> Any:
            self.sent.append(request)
            if request.path.endswith("/deleted/"):
                if isinstance(self.answer, Exception):
                    raise self.answer
                return self.answer
            return recycle

    async def ids(http: Scripted, start: datetime | None) -> list[str]:
        return [
            i
            async for page in deletions.deleted_ids(http, api, "Contact", start, now)
            for i in page
        ]

    covered = Scripted(log)
    assert await ids(covered, since) == ["003A"]  # the log covered the window
    assert covered.sent[0].params == {
        "start": "2026-11-20T08:20:00+00:00",
        "end": "2026-11-25T12:00:00+00:00",
    }
    purged = Scripted({**log, "earliestDateAvailable": "2026-11-22T00:00:00.000+0000"})
    assert await ids(purged, since) == ["003A", "003B"]  # log purged early: recycle bin too
    assert "SystemModstamp >= 2026-11-20T08:20:00Z" in purged.sent[1].params["q"]  # type: ignore[index]
    refused = Scripted(RequestFailed("400 INVALID_REPLICATION_DATE", status=400))
    assert await ids(refused, since) == ["003B"]  # getDeleted errors: the recycle bin
    old = Scripted(log)
    assert await ids(old, datetime(2026, 11, 1, tzinfo=UTC)) == ["003B"]
    assert [r.path.rsplit("/", 1)[-1] for r in old.sent] == ["queryAll"]
    assert await ids(Scripted(log), None) == ["003B"]  # a full read: the recycle bin
