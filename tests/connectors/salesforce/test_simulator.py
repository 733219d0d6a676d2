from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator, create_simulator
from core.simulation.dataset import generate

BASE = "http://sf.test"
DATA = "/services/data/v66.0"


@pytest.fixture(scope="module")
def sim() -> SalesforceSimulator:
    return create_simulator(seed=7, deals=450)


@pytest.fixture
async def client(sim: SalesforceSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = (
            await c.post(
                "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
            )
        ).json()
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        yield c


@pytest.mark.off_contract(
    "calls the API without a token, to see it refused", expect=["no Bearer token"]
)
async def test_token_endpoint_grants_and_refuses_like_salesforce(sim: SalesforceSimulator) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        ok = await c.post(
            "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
        )
        body = ok.json()
        assert ok.status_code == 200 and body["instance_url"] == BASE
        assert body["token_type"] == "Bearer" and body["access_token"].startswith("00D")
        bad = await c.post(
            "/services/oauth2/token",
            data={"grant_type": "refresh_token", **CREDENTIALS, "refresh_token": "nope"},
        )
        assert bad.status_code == 400
        assert bad.json() == {
            "error": "invalid_grant",
            "error_description": "expired access/refresh token",
        }
        no_auth = await c.get(f"{DATA}/limits")
        assert no_auth.status_code == 401
        assert no_auth.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


async def test_query_pages_with_next_records_url(
    client: httpx.AsyncClient, sim: SalesforceSimulator
) -> None:
    q = "SELECT Id, Name FROM Opportunity ORDER BY SystemModstamp, Id"
    first = await client.get(
        f"{DATA}/query", params={"q": q}, headers={"Sforce-Query-Options": "batchSize=200"}
    )
    body = first.json()
    live = [d for d in sim.data.deals if d.deleted_at is None]
    assert body["totalSize"] == len(live) and body["done"] is False and len(body["records"]) == 200
    assert body["records"][0]["attributes"]["type"] == "Opportunity"
    assert set(body["records"][0]) == {"attributes", "Id", "Name"}
    ids = [r["Id"] for r in body["records"]]
    while not body["done"]:
        body = (await client.get(body["nextRecordsUrl"])).json()
        ids += [r["Id"] for r in body["records"]]
    assert len(ids) == len(set(ids)) == len(live)
    assert "Sforce-Limit-Info" in first.headers and first.headers["Sforce-Limit-Info"].startswith(
        "api-usage="
    )
    gone = await client.get(f"{DATA}/query/01gDn9999999999999-200")
    assert gone.status_code == 400 and gone.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("SELECT Id, Foo FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Widget__c", "INVALID_TYPE"),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE SystemModstamp >= yesterday", "MALFORMED_QUERY"),
    ],
)
async def test_bad_queries_get_salesforce_errors(
    client: httpx.AsyncClient, q: str, code: str
) -> None:
    response = await client.get(f"{DATA}/query", params={"q": q})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == code


async def test_where_order_limit_and_children(
    client: httpx.AsyncClient, sim: SalesforceSimulator
) -> None:
    won = [d for d in sim.data.deals if d.status == "WON" and d.deleted_at is None]
    q = (
        "SELECT Id, Amount, (SELECT StageName, CreatedDate FROM OpportunityHistories "
        "ORDER BY CreatedDate) FROM Opportunity WHERE IsWon = true ORDER BY Amount DESC LIMIT 3"
    )
    body = (await client.get(f"{DATA}/query", params={"q": q})).json()
    top = sorted((float(d.amount) for d in won), reverse=True)[:3]
    assert [r["Amount"] for r in body["records"]] == top
    history = body["records"][0]["OpportunityHistories"]["records"]
    assert history[-1]["StageName"] == "Closed won"
    assert [h["CreatedDate"] for h in history] == sorted(h["CreatedDate"] for h in history)


async def test_deleted_rows_only_in_query_all_and_get_deleted() -> None:
    sim = create_simulator(seed=3, deals=40)
    gone = sim.data.contacts[:2]
    at = sim.data.anchor
    sim.data.delete(gone, at)
    sim.rerender()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = (
            await c.post(
                "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
            )
        ).json()
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        q = "SELECT Id FROM Contact WHERE IsDeleted = true"
        assert (await c.get(f"{DATA}/query", params={"q": q})).json()["totalSize"] == 0
        deleted = (await c.get(f"{DATA}/queryAll", params={"q": q})).json()["records"]
        assert len(deleted) == 2
        now = datetime.now(UTC)
        window = {"start": _at(now - timedelta(days=14)), "end": _at(now)}
        listed = (await c.get(f"{DATA}/sobjects/Contact/deleted/", params=window)).json()
        assert sorted(r["id"] for r in listed["deletedRecords"]) == sorted(r["Id"] for r in deleted)


async def test_daily_limit_then_request_limit_exceeded() -> None:
    sim = create_simulator(seed=1, deals=20, daily_limit=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = (
            await c.post(
                "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
            )
        ).json()
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert (await c.get(f"{DATA}/limits")).headers["Sforce-Limit-Info"] == "api-usage=1/2"
        assert (await c.get(f"{DATA}/limits")).status_code == 200
        refused = await c.get(f"{DATA}/limits")
        assert refused.status_code == 403
        assert refused.json() == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
        sim.reset_usage()
        assert (await c.get(f"{DATA}/limits")).json()["DailyApiRequests"] == {
            "Max": 2,
            "Remaining": 1,
        }


async def test_sessions_expire_after_the_configured_calls() -> None:
    sim = create_simulator(seed=1, deals=20, session_requests=1)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = (
            await c.post(
                "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
            )
        ).json()
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert (await c.get(f"{DATA}/limits")).status_code == 200
        assert (await c.get(f"{DATA}/limits")).json()[0]["errorCode"] == "INVALID_SESSION_ID"


async def test_single_currency_org_has_no_currency_objects_or_field() -> None:
    sim = SalesforceSimulator(generate(seed=2, deals=20), multi_currency=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = (
            await c.post(
                "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
            )
        ).json()
        c.headers["Authorization"] = f"Bearer {token['access_token']}"
        fields = {
            f["name"]
            for f in (await c.get(f"{DATA}/sobjects/Opportunity/describe")).json()["fields"]
        }
        assert "CurrencyIsoCode" not in fields and "Loss_Reason__c" in fields
        objects = {o["name"] for o in (await c.get(f"{DATA}/sobjects/")).json()["sobjects"]}
        assert "CurrencyType" not in objects and "Opportunity" in objects
        response = await c.get(f"{DATA}/query", params={"q": "SELECT Id FROM CurrencyType"})
        assert response.json()[0]["errorCode"] == "INVALID_TYPE"
        unknown = await c.get("/services/data/v12.0/limits")
        assert unknown.status_code == 404


async def test_child_subquery_where_filters_lead_history(
    client: httpx.AsyncClient, sim: SalesforceSimulator
) -> None:
    q = (
        "SELECT Id, Status, (SELECT Field, NewValue, CreatedDate FROM Histories "
        "WHERE Field = 'Status' ORDER BY CreatedDate) FROM Lead WHERE IsConverted = true"
    )
    body = (await client.get(f"{DATA}/query", params={"q": q})).json()
    converted = [lead for lead in sim.data.leads if lead.converted_at]
    assert body["totalSize"] == len(converted) > 0
    for record in body["records"]:
        rows = record["Histories"]["records"]
        assert [r["Field"] for r in rows] == ["Status"]
        assert rows[0]["NewValue"] == record["Status"] == "Closed - Converted"


async def test_count_queries_answer_the_total_only(
    client: httpx.AsyncClient, sim: SalesforceSimulator
) -> None:
    q = "SELECT COUNT() FROM Opportunity WHERE IsDeleted = false"
    body = (await client.get(f"{DATA}/query", params={"q": q})).json()
    assert body == {
        "totalSize": sum(1 for d in sim.data.deals if d.deleted_at is None),
        "done": True,
        "records": [],
    }


async def test_record_types_name_their_process_and_its_stage_values() -> None:
    sim = create_simulator(seed=7, deals=60, record_types=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=BASE) as c:
        token = await c.post(
            "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
        )
        c.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        q = "SELECT Id, BusinessProcessId FROM RecordType WHERE SobjectType = 'Opportunity'"
        kinds = (await c.get(f"{DATA}/query", params={"q": q})).json()["records"]
        assert len(kinds) == len(sim.data.pipelines)
        picklist = f"{DATA}/ui-api/object-info/Opportunity/picklist-values"
        values = (await c.get(f"{picklist}/{kinds[0]['Id']}/StageName")).json()["values"]
        assert [v["value"] for v in values] == [s.name for s in sim.data.pipelines[0].stages]
        assert (await c.get(f"{picklist}/012Dn0000000000099/StageName")).status_code == 404
        rows = await c.get(f"{DATA}/query", params={"q": "SELECT RecordTypeId FROM Opportunity"})
        assert {r["RecordTypeId"] for r in rows.json()["records"]} <= {k["Id"] for k in kinds}
    plain = create_simulator(seed=7, deals=20)
    assert "RecordTypeId" not in plain.tables["Opportunity"].fields
    assert "RecordType" not in plain.tables


def _at(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
