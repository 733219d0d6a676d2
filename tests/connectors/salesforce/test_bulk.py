"""Bulk API 2.0: the simulator's job endpoints and the client's CSV-to-record pieces."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from connectors.salesforce import bulk, mapping
from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator, create_simulator
from connectors.salesforce.streams import ApiPaths
from core.sync.connector import Request
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
    assert bulk.next_locator({"Sforce-Locator": "null"}) is None
    assert bulk.next_locator({"sforce-locator": "MTAwMDA"}) == "MTAwMDA"
    with pytest.raises(bulk.JobFailed, match="Failed"):
        bulk.is_complete({"id": "750x", "state": "Failed", "errorMessage": "boom"})
