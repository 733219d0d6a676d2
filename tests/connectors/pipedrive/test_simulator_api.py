"""The simulator behaves as the documented API on what narrows or refuses an answer:
each test here fails against a simulator lacking the behaviour it names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from connectors.pipedrive.simulator import API_TOKEN, PipedriveSimulator, create_app
from connectors.pipedrive.simulator.app import API_TOKEN_BURST
from connectors.pipedrive.simulator.deletions import with_deletions
from core.simulation.dataset import Dataset, generate
from core.simulation.options import Account, SimulatorOptions

BASE = "http://pipedrive.test"
AUTH = {"x-api-token": API_TOKEN}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(seed=5, deals=150)


def _client(sim: PipedriveSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=sim.app), base_url=BASE)


@pytest.fixture
async def client(dataset: Dataset) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(PipedriveSimulator(dataset)) as c:
        yield c


async def _all(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        body = (await client.get(path, params=query, headers=AUTH)).json()
        items.extend(body["data"] or [])
        cursor = body["additional_data"]["next_cursor"]
        if cursor is None:
            return items


async def test_v1_is_served_under_v1_as_the_official_clients_call_it(
    client: httpx.AsyncClient,
) -> None:
    short = await client.get("/v1/users", headers=AUTH)
    long = await client.get("/api/v1/users", headers=AUTH)
    assert short.status_code == long.status_code == 200
    assert short.json() == long.json() and short.json()["data"]
    flow = await client.get("/v1/deals/1/flow", headers=AUTH)
    assert flow.status_code == 200 and flow.json()["success"] is True


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v2/nothing", 404),
        ("GET", "/v1/nothing", 404),
        ("GET", "/api/v2/deals/", 404),  # no trailing-slash redirect either
        ("DELETE", "/api/v2/deals", 405),
    ],
)
async def test_unknown_routes_answer_a_json_envelope(
    client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await client.request(method, path, headers=AUTH)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["success"] is False and response.json()["error"]


@pytest.mark.off_contract(
    "asks the undocumented delete_log item, and recents without since_timestamp, to see "
    "them refused",
    expect=['"delete_log" is not one of', '"since_timestamp" is a required property'],
)
async def test_recents_lists_documented_items_only(client: httpx.AsyncClient) -> None:
    since = {"since_timestamp": "2020-01-01 00:00:00"}
    log = await client.get("/v1/recents", params={**since, "items": "delete_log"}, headers=AUTH)
    assert log.status_code == 400 and "items" in log.json()["error"]
    deals = await client.get("/v1/recents", params={**since, "items": "deal"}, headers=AUTH)
    assert deals.status_code == 200 and deals.json()["success"] is True
    missing = await client.get("/v1/recents", params={"items": "deal"}, headers=AUTH)
    assert missing.status_code == 400


@pytest.mark.off_contract(
    "asks an undocumented include_fields value, to see it refused",
    expect=['"nope" does not match'],
)
async def test_source_lead_id_only_when_include_fields_asks(
    client: httpx.AsyncClient, dataset: Dataset
) -> None:
    plain = await _all(client, "/api/v2/deals")
    assert plain and all("source_lead_id" not in d for d in plain)
    asked = await _all(client, "/api/v2/deals", include_fields="source_lead_id")
    converted = {d["id"] for d in asked if d["source_lead_id"]}
    assert converted == {d.id for d in dataset.deals if d.lead_id and d.deleted_at is None}
    bad = await client.get("/api/v2/deals", params={"include_fields": "nope"}, headers=AUTH)
    assert bad.status_code == 400 and bad.json()["success"] is False


@pytest.mark.parametrize(
    ("path", "param", "key"),
    [
        ("/api/v2/deals", "owner_id", "owner_id"),
        ("/api/v2/deals", "pipeline_id", "pipeline_id"),
        ("/api/v2/deals", "org_id", "org_id"),
        ("/api/v2/persons", "owner_id", "owner_id"),
        ("/api/v2/activities", "deal_id", "deal_id"),
        ("/api/v2/stages", "pipeline_id", "pipeline_id"),
    ],
)
async def test_v2_filters_narrow_the_list(
    client: httpx.AsyncClient, path: str, param: str, key: str
) -> None:
    everything = await _all(client, path)
    value = next(item[key] for item in everything if item.get(key) is not None)
    narrowed = await _all(client, path, **{param: value})
    assert narrowed == [item for item in everything if item.get(key) == value]
    assert len(narrowed) < len(everything)


async def test_ids_narrow_and_are_limited_to_100(client: httpx.AsyncClient) -> None:
    picked = await _all(client, "/api/v2/organizations", ids="3,1,2")
    assert [o["id"] for o in picked] == [1, 2, 3]
    many = ",".join(str(i) for i in range(1, 102))
    refused = await client.get("/api/v2/persons", params={"ids": many}, headers=AUTH)
    assert refused.status_code == 400


@pytest.mark.off_contract(
    "asks an undocumented status, to see it refused", expect=['"frozen" does not match']
)
async def test_deal_status_filters_and_combines_with_deleted(dataset: Dataset) -> None:
    ds = generate(seed=5, deals=150)
    gone = ds.deals[:4]
    ds.delete(gone, max(d.updated_at for d in ds.deals))
    async with _client(PipedriveSimulator(ds)) as client:
        won = await _all(client, "/api/v2/deals", status="won")
        assert won and {d["status"] for d in won} == {"won"}
        deleted = await _all(client, "/api/v2/deals", status="deleted")
        assert {d["id"] for d in deleted} == {d.id for d in gone}
        assert all(d["is_deleted"] for d in deleted)
        both = await _all(client, "/api/v2/deals", status="won,deleted")
        assert {d["id"] for d in both} == {d["id"] for d in won} | {d.id for d in gone}
        assert [d["id"] for d in both] == sorted(d["id"] for d in both)
        live = await _all(client, "/api/v2/deals")
        assert not {d["id"] for d in live} & {d.id for d in gone}
        bad = await client.get("/api/v2/deals", params={"status": "frozen"}, headers=AUTH)
        assert bad.status_code == 400


async def test_updated_since_narrows_inclusively(client: httpx.AsyncClient) -> None:
    everything = await _all(client, "/api/v2/persons", sort_by="update_time")
    middle = everything[len(everything) // 2]["update_time"]
    since = await _all(client, "/api/v2/persons", sort_by="update_time", updated_since=middle)
    assert since == [p for p in everything if p["update_time"] >= middle]


@pytest.mark.parametrize(
    ("account", "path", "status"),
    [
        (Account.MINIMAL, "/v1/legacyTeams", 403),
        (Account.MINIMAL, "/api/v1/legacyTeams", 403),
        (Account.MINIMAL, "/api/v2/deals/archived", 404),
        (Account.STANDARD, "/api/v1/legacyTeams", 402),
        (Account.FULL, "/api/v1/legacyTeams", 200),
        (Account.FULL, "/api/v2/deals/archived", 200),
    ],
)
async def test_account_variants_refuse_optional_endpoints(
    dataset: Dataset, account: Account, path: str, status: int
) -> None:
    async with _client(PipedriveSimulator(dataset, account=account)) as client:
        response = await client.get(path, headers=AUTH)
        deals = await client.get("/api/v2/deals", headers=AUTH)
    assert response.status_code == status and deals.status_code == 200
    body = response.json()
    assert body["success"] is (status == 200)
    if status != 200:
        assert body["errorCode"] == status and body["error_info"] and body["data"] is None
    assert "x-ratelimit-remaining" in response.headers


async def test_rate_limit_switched_on_by_the_options_answers_pipedrive_429s() -> None:
    app = create_app(SimulatorOptions(seed=2, deals=20, rate_limit=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        answers = [
            await c.get("/api/v2/pipelines", headers=AUTH) for _ in range(API_TOKEN_BURST + 1)
        ]
    assert [r.status_code for r in answers[:-1]] == [200] * API_TOKEN_BURST
    refused = answers[-1]
    assert refused.status_code == 429 and refused.json()["success"] is False
    assert refused.json()["errorCode"] == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["x-ratelimit-limit"] == str(API_TOKEN_BURST)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert answers[0].headers["x-ratelimit-remaining"] == str(API_TOKEN_BURST - 1)
    unlimited = create_app(SimulatorOptions(seed=2, deals=20))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unlimited), base_url=BASE) as c:
        codes = {(await c.get("/api/v2/pipelines", headers=AUTH)).status_code for _ in range(90)}
    assert codes == {200}


@pytest.mark.parametrize("fault", ["429every=1", "5xx=1"])
async def test_injected_faults_carry_pipedrive_envelope_and_rate_headers(fault: str) -> None:
    app = create_app(SimulatorOptions(seed=2, deals=20, faults=f"{fault},seed=1"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        response = await c.get("/api/v2/deals", headers=AUTH)
    assert response.status_code in (429, 500, 502, 503)
    body = response.json()
    assert body["success"] is False and body["errorCode"] == response.status_code
    assert body["error"] and body["error_info"]
    for header in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        assert header in response.headers


async def test_account_variant_from_the_options() -> None:
    app = create_app(SimulatorOptions(seed=2, deals=20, account=Account.MINIMAL))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        assert (await c.get("/v1/legacyTeams", headers=AUTH)).status_code == 403
        assert (await c.get("/api/v2/deals/archived", headers=AUTH)).status_code == 404


async def test_the_default_dataset_has_deletions_to_find() -> None:
    """``crmkpi simulate pipedrive`` serves an account with deleted records."""
    dataset = with_deletions(generate(seed=2, deals=120))
    gone = [d.id for d in dataset.deals if d.deleted_at is not None]
    assert gone and any(c.deleted_at for c in dataset.contacts)
    assert any(a.deleted_at for a in dataset.activities) and any(
        x.deleted_at for x in dataset.leads
    )
    async with _client(PipedriveSimulator(dataset)) as client:
        deleted = await _all(client, "/api/v2/deals", status="deleted")
        live = await _all(client, "/api/v2/deals")
        persons = await _all(client, "/api/v2/persons")
    assert sorted(d["id"] for d in deleted) == sorted(gone)
    assert not {d["id"] for d in live} & set(gone)
    assert len(persons) == sum(1 for c in dataset.contacts if c.deleted_at is None)
    app = create_app(SimulatorOptions(seed=2, deals=120))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        served = await _all(c, "/api/v2/deals", status="deleted")
    assert sorted(d["id"] for d in served) == sorted(gone)
