"""Bulk API 2.0: the simulator's job endpoints and the client's CSV-to-record pieces."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.salesforce import bulk, mapping, settings
from connectors.salesforce.client import SalesforceConfigError, bulk_threshold
from connectors.salesforce.objects import AccountsStream
from connectors.salesforce.paths import ApiPaths
from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator, create_simulator
from core.models.enums import SyncMode
from core.sync.connector import Cursor, Request, StreamContext
from core.sync.records import DealRecord

BASE = "http://sf.test"


@pytest.fixture(scope="module")
def sim() -> SalesforceSimulator:
    return create_simulator(seed=4, deals=250)


@pytest.fixture
async def client(sim: SalesforceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = await c.post(
            "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
        )
        c.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield c


async def _send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    return await client.request(
        request.method, request.path, params=request.params, json=request.json
    )


async def test_bulk_query_job_round_trip_maps_like_rest(
    client: httpx.AsyncClient, sim: SalesforceSimulator
) -> None:
    api = ApiPaths()
    fields = (
        "Id, Name, Amount, CurrencyIsoCode, StageName, IsClosed, IsWon, CloseDate, SystemModstamp"
    )
    created = await _send(client, bulk.create_job(api, f"SELECT {fields} FROM Opportunity"))
    job = created.json()
    assert created.status_code == 200 and job["state"] == "UploadComplete"
    assert job["object"] == "Opportunity" and job["id"].startswith("750")
    early = await _send(client, bulk.results(api, job["id"], None))
    assert early.status_code == 400  # not complete yet
    polls = 0
    while not bulk.is_complete((await _send(client, bulk.job_status(api, job["id"]))).json()):
        polls += 1
        assert polls < 5
    described = (await client.get(f"{api.data('/sobjects/Opportunity/describe')}")).json()
    types = bulk.field_types(described)
    locator: str | None = None
    deals: list[DealRecord] = []
    pages = 0
    while True:
        request = bulk.results(api, job["id"], locator)
        request = Request(path=request.path, params={**(request.params or {}), "maxRecords": 100})
        page = await _send(client, request)
        assert page.headers["content-type"].startswith("text/csv")
        rows = list(bulk.rows(page.text, types, "Opportunity"))
        assert int(page.headers["Sforce-NumberOfRecords"]) == len(rows)
        for raw in rows:
            record = mapping.map_opportunity(raw)[0]
            assert isinstance(record, DealRecord)
            deals.append(record)
        pages += 1
        locator = bulk.next_locator(page.headers)
        if locator is None:
            break
    assert pages == 3
    live = [d for d in sim.data.deals if d.deleted_at is None]
    assert len(deals) == len(live)
    assert sum(d.amount or 0 for d in deals) == sum(d.amount for d in live)
    assert {d.status for d in deals} == {d.status for d in live}
    assert (await client.delete(api.data(f"/jobs/query/{job['id']}"))).status_code == 204


async def test_bulk_refuses_nested_queries_and_bad_fields(client: httpx.AsyncClient) -> None:
    api = ApiPaths()
    nested = "SELECT Id, (SELECT StageName FROM OpportunityHistories) FROM Opportunity"
    refused = await _send(client, bulk.create_job(api, nested))
    assert refused.status_code == 400 and "Nested queries" in refused.json()[0]["message"]
    bad = await _send(client, bulk.create_job(api, "SELECT Nope FROM Account"))
    assert "INVALID_FIELD" in bad.json()[0]["message"]
    other_version = await client.get("/services/data/v62.0/jobs/query/750Dn0000000000001")
    assert other_version.status_code in (404, 409)


def test_csv_cells_become_rest_values() -> None:
    text = 'Id,IsWon,Amount,Name,CloseDate\n006A,true,12.5,"Acme, Inc",2026-01-02\n006B,false,,,\n'
    types = {
        "Id": "id",
        "IsWon": "boolean",
        "Amount": "currency",
        "Name": "string",
        "CloseDate": "date",
    }
    first, second = bulk.rows(text, types, "Opportunity")
    assert first == {
        "attributes": {"type": "Opportunity"},
        "Id": "006A",
        "IsWon": True,
        "Amount": 12.5,
        "Name": "Acme, Inc",
        "CloseDate": "2026-01-02",
    }
    assert (second["IsWon"], second["Amount"], second["Name"]) == (False, None, None)
    (whole,) = bulk.rows("Probability\n100\n", {"Probability": "percent"}, "Opportunity")
    assert whole["Probability"] == 100 and isinstance(whole["Probability"], int)
    assert bulk.next_locator({"Sforce-Locator": "null"}) is None
    assert bulk.next_locator({"sforce-locator": "MTAwMDA"}) == "MTAwMDA"
    with pytest.raises(bulk.JobFailed, match="Failed"):
        bulk.is_complete({"id": "750x", "state": "Failed", "errorMessage": "boom"})


def test_bulk_threshold_credential_is_a_row_count() -> None:
    assert bulk_threshold(None) == settings.BULK_THRESHOLD
    assert bulk_threshold(" ") == settings.BULK_THRESHOLD
    assert bulk_threshold("0") == 0
    for bad in ("many", "-5", "1.5"):
        with pytest.raises(SalesforceConfigError, match="bulk_threshold"):
            bulk_threshold(bad)


@pytest.fixture(autouse=True)
def _no_poll_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "BULK_POLL_SECONDS", 0.0)


class _Scripted:
    """An HttpClient answering by path: the count, a job, then the job's fate."""

    def __init__(self, total: int, state: str) -> None:
        self.total, self.state = total, state
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        if request.path.endswith("/describe"):
            return {"fields": [{"name": "Id", "type": "id"}, {"name": "Name", "type": "string"}]}
        if request.method == "POST":
            return {"id": "750x", "state": "UploadComplete"}
        if request.path.endswith("/query"):
            return {"totalSize": self.total, "done": True, "records": []}
        return {"id": "750x", "state": self.state}


@pytest.mark.parametrize(
    ("total", "state", "uses_bulk"),
    [(5, "JobComplete", False), (50, "JobComplete", True), (50, "Failed", False)],
)
async def test_full_reads_above_the_threshold_use_a_job_else_rest(
    total: int, state: str, uses_bulk: bool
) -> None:
    stream = AccountsStream()
    http = _Scripted(total, state)
    ctx = StreamContext("c", SyncMode.FULL, options={"bulk_threshold": "10"})
    await stream.prepare(http, ctx)
    job = await stream.open_bulk(http, ctx)
    assert "SELECT COUNT() FROM Account" in str(http.sent[1].params)
    assert (job is not None) is uses_bulk
    if job is not None:
        assert job.first_request().path.endswith("/jobs/query/750x/results")
        assert job.first_request().decode == "text"

    incremental = StreamContext(
        "c",
        SyncMode.INCREMENTAL,
        start_cursor=Cursor(datetime.now(UTC)),
        options={"bulk_threshold": "10"},
    )
    http.sent.clear()
    await stream.prepare(http, incremental)
    assert await stream.open_bulk(http, incremental) is None
    # the describe only (no count, no job): incremental reads are REST only
    assert [r.path.rsplit("/", 1)[-1] for r in http.sent] == ["describe"]
    first = stream.first_request(incremental)
    assert first is not None and first.decode == "json"
