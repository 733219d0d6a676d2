"""The simulated org behaves as the documented API does (issue #23): each test here fails on
the simulator as it was before (types guessed from names, SOQL without OR/IN/LIKE, child
batches always done, no token rotation, text 404s ...)."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator, create_simulator

BASE = "http://sf.test"
DATA = "/services/data/v66.0"


@asynccontextmanager
async def _client(sim: SalesforceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = await c.post(
            "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
        )
        c.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield c


@pytest.fixture(scope="module")
def full() -> SalesforceSimulator:
    return create_simulator(seed=5, deals=80, account="full", history_batch=2)


@pytest.fixture(scope="module")
def minimal() -> SalesforceSimulator:
    return create_simulator(seed=5, deals=40, account="minimal")


@pytest.fixture
async def api(full: SalesforceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(full) as client:
        yield client


@pytest.fixture
async def small(minimal: SalesforceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(minimal) as client:
        yield client


async def _query(client: httpx.AsyncClient, q: str) -> Any:
    response = await client.get(f"{DATA}/query", params={"q": q})
    assert response.status_code == 200, response.text
    return response.json()


def _field(described: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in described["fields"] if f["name"] == name)


async def test_describe_has_real_types_picklist_values_and_references(
    api: httpx.AsyncClient, full: SalesforceSimulator
) -> None:
    described = (await api.get(f"{DATA}/sobjects/Opportunity/describe")).json()
    stage = _field(described, "StageName")
    assert stage["type"] == "picklist"
    stages = [r["ApiName"] for r in full.tables["OpportunityStage"].rows]
    assert [v["value"] for v in stage["picklistValues"]] == stages
    assert _field(described, "AccountId")["referenceTo"] == ["Account"]
    assert _field(described, "OwnerId")["referenceTo"] == ["User"]
    assert _field(described, "Amount")["type"] == "currency"
    task = (await api.get(f"{DATA}/sobjects/Task/describe")).json()
    assert _field(task, "WhoId")["referenceTo"] == ["Contact", "Lead"]


async def test_field_level_security_hides_fields_from_describe_and_soql(
    small: httpx.AsyncClient,
) -> None:
    described = (await small.get(f"{DATA}/sobjects/Account/describe")).json()
    assert "AccountSource" not in {f["name"] for f in described["fields"]}
    refused = await small.get(f"{DATA}/query", params={"q": "SELECT AccountSource FROM Account"})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD"


async def test_soql_or_in_like_parentheses_and_lowercase(
    api: httpx.AsyncClient, full: SalesforceSimulator
) -> None:
    rows = full.tables["Opportunity"].rows
    live = [r for r in rows if not r["IsDeleted"]]
    first, second = live[0], live[1]
    q = (
        f"select id, name from opportunity where (Id = '{first['Id']}' or "
        f"Id IN ('{second['Id']}')) and not Name LIKE 'zzz%' order by id"
    )
    got = await _query(api, q)
    assert [r["Id"] for r in got["records"]] == sorted([first["Id"], second["Id"]])
    assert set(got["records"][0]) == {"attributes", "Id", "Name"}  # API names, any case asked
    like = await _query(api, "SELECT Id FROM Opportunity WHERE Name LIKE 'Deal 1%'")
    expected = [r for r in live if r["Name"].startswith("Deal 1")]
    assert like["totalSize"] == len(expected) > 1
    not_in = await _query(api, f"SELECT Id FROM Opportunity WHERE Id NOT IN ('{first['Id']}')")
    assert not_in["totalSize"] == len(live) - 1


async def test_relationship_subqueries_are_paged_with_their_own_locator(
    api: httpx.AsyncClient, full: SalesforceSimulator
) -> None:
    q = (
        "SELECT Id, (SELECT StageName, CreatedDate FROM OpportunityHistories "
        "ORDER BY CreatedDate) FROM Opportunity"
    )
    page = await _query(api, q)
    longest = max(
        page["records"], key=lambda r: (r["OpportunityHistories"] or {}).get("totalSize", 0)
    )
    child = longest["OpportunityHistories"]
    assert child["totalSize"] > 2 and child["done"] is False and len(child["records"]) == 2
    records = list(child["records"])
    while not child["done"]:
        child = (await api.get(child["nextRecordsUrl"])).json()
        records += child["records"]
    opp = next(r for r in full.tables["Opportunity"].rows if r["Id"] == longest["Id"])
    assert [r["StageName"] for r in records] == [
        h["StageName"] for h in opp["_children"]["OpportunityHistories"]
    ]


async def test_refresh_tokens_rotate_and_the_old_one_dies() -> None:
    sim = create_simulator(seed=2, deals=20, rotate_refresh_tokens=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        form = {"grant_type": "refresh_token", **CREDENTIALS}
        first = (await c.post("/services/oauth2/token", data=form)).json()
        assert first["refresh_token"] != CREDENTIALS["refresh_token"]
        again = await c.post("/services/oauth2/token", data=form)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
        rotated = {**form, "refresh_token": first["refresh_token"]}
        assert (await c.post("/services/oauth2/token", data=rotated)).status_code == 200


async def test_client_credentials_in_http_basic_are_accepted(full: SalesforceSimulator) -> None:
    pair = f"{CREDENTIALS['client_id']}:{CREDENTIALS['client_secret']}".encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(full.app), base_url=BASE) as c:
        answer = await c.post(
            "/services/oauth2/token",
            data={"grant_type": "refresh_token", "refresh_token": CREDENTIALS["refresh_token"]},
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode()},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]


async def test_bulk_datetimes_end_in_000z_and_stamps_tie_within_a_second(
    api: httpx.AsyncClient, full: SalesforceSimulator
) -> None:
    job = (
        await api.post(
            f"{DATA}/jobs/query",
            json={"operation": "query", "query": "SELECT Id, SystemModstamp FROM Account"},
        )
    ).json()
    for _ in range(3):
        state = (await api.get(f"{DATA}/jobs/query/{job['id']}")).json()["state"]
    assert state == "JobComplete"
    text = (await api.get(f"{DATA}/jobs/query/{job['id']}/results")).text
    stamps = [row["SystemModstamp"] for row in csv.DictReader(io.StringIO(text))]
    assert stamps and all(s.endswith(".000Z") for s in stamps)
    rest = [r["SystemModstamp"] for r in full.tables["Account"].rows]
    assert all(s.endswith(".000+0000") for s in rest)


async def test_get_deleted_refuses_what_the_real_api_refuses(api: httpx.AsyncClient) -> None:
    now = datetime.now(UTC)

    def at(value: datetime) -> str:
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")

    url = f"{DATA}/sobjects/Opportunity/deleted/"
    backwards = await api.get(url, params={"start": at(now), "end": at(now - timedelta(days=1))})
    assert backwards.status_code == 400
    assert backwards.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    too_old = await api.get(url, params={"start": at(now - timedelta(days=40)), "end": at(now)})
    assert too_old.status_code == 400
    assert too_old.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    fine = await api.get(url, params={"start": at(now - timedelta(days=10)), "end": at(now)})
    assert fine.status_code == 200 and "earliestDateAvailable" in fine.json()


@pytest.mark.off_contract(
    "calls the API without a token, to see it refused", expect=["no Bearer token"]
)
async def test_errors_are_salesforce_json_bodies(api: httpx.AsyncClient) -> None:
    unknown = await api.get(f"{DATA}/no/such/resource")
    assert unknown.status_code == 404
    assert unknown.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
    slash = await api.get(f"{DATA}/limits/")
    assert slash.status_code == 404 and slash.json()[0]["errorCode"] == "NOT_FOUND"
    async with httpx.AsyncClient(transport=api._transport, base_url=BASE) as anonymous:
        refused = await anonymous.get(f"{DATA}/limits")
    assert refused.status_code == 401
    assert refused.json()[0]["errorCode"] == "INVALID_SESSION_ID"


async def test_default_dataset_of_the_cli_holds_deletions() -> None:
    sim = create_simulator(seed=3, deals=60, deletions=True)
    assert any(d.deleted_at for d in sim.data.deals)
    assert any(c.deleted_at for c in sim.data.contacts)
    async with _client(sim) as c:
        gone = await c.get(
            f"{DATA}/queryAll", params={"q": "SELECT Id FROM Opportunity WHERE IsDeleted = true"}
        )
        assert gone.json()["totalSize"] == sum(1 for d in sim.data.deals if d.deleted_at)


async def test_minimal_account_lacks_the_optional_objects(small: httpx.AsyncClient) -> None:
    listed = (await small.get(f"{DATA}/sobjects/")).json()
    names = {o["name"] for o in listed["sobjects"]}
    assert {"Opportunity", "Lead", "User"} <= names
    assert not names & {"CurrencyType", "DatedConversionRate", "RecordType", "UserRole", "Note"}
    assert not names & {"LeadHistory"}
    role = await small.get(f"{DATA}/query", params={"q": "SELECT Id FROM UserRole"})
    assert role.status_code == 400 and role.json()[0]["errorCode"] == "INVALID_TYPE"
    described = (await small.get(f"{DATA}/sobjects/Opportunity/describe")).json()
    assert "CurrencyIsoCode" not in {f["name"] for f in described["fields"]}
    lead = (await small.get(f"{DATA}/sobjects/Lead/describe")).json()
    assert not lead["childRelationships"]
    bulk = await small.post(
        f"{DATA}/jobs/query", json={"operation": "query", "query": "SELECT Id FROM Account"}
    )
    assert bulk.status_code == 403 and bulk.json()[0]["errorCode"] == "FUNCTIONALITY_NOT_ENABLED"


async def test_full_account_has_record_types_and_dated_rates(api: httpx.AsyncClient) -> None:
    listed = (await api.get(f"{DATA}/sobjects/")).json()
    names = {o["name"] for o in listed["sobjects"]}
    assert {"RecordType", "BusinessProcess", "CurrencyType", "DatedConversionRate"} <= names
    assert {"UserRole", "Note", "LeadHistory"} <= names
