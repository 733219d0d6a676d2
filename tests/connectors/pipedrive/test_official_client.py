"""The simulator driven by a Pipedrive client nobody here wrote: ``pipedrive-python-lib``
(PyPI, a dev dependency), over a real socket.

The library speaks API v1 with the official base form ``<domain>/v1/`` and the
``api_token`` query parameter. Its own methods read users, leads, deal fields, deal flows
and recents; deals, persons, organizations, activities, pipelines and stages are listed
through its request layer (``Client._get``: its auth, its error parsing) on their v2
paths, since the v1 lists of those objects are deprecated in favour of v2.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pipedrive.client import Client
from pipedrive.exceptions import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
)

from connectors.pipedrive.simulator import API_TOKEN, CLIENT_ID, CLIENT_SECRET, PipedriveSimulator
from connectors.pipedrive.simulator.render import lead_uuid, open_stays
from core.simulation.dataset import Dataset, generate
from core.simulation.options import Account
from tests.support.server import serve


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(seed=9, deals=80)


@pytest.fixture(scope="module")
def base_url(dataset: Dataset) -> Iterator[str]:
    with serve(PipedriveSimulator(dataset).asgi()) as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Client:
    client = Client(domain=base_url)
    client.set_api_token(API_TOKEN)
    return client


def _v2_all(client: Client, base_url: str, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 50, **params, **({"cursor": cursor} if cursor else {})}
        page = client._get(f"{base_url}/api/v2/{path}", params=query)
        assert page["success"] is True
        items.extend(page["data"])
        cursor = page["additional_data"]["next_cursor"]
        if cursor is None:
            return items


def test_users_leads_and_deal_fields_through_its_own_methods(
    client: Client, dataset: Dataset
) -> None:
    users = client.users.get_all_users()
    assert {u["id"] for u in users["data"]} == {u.id for u in dataset.users}
    leads: list[dict[str, Any]] = []
    start = 0
    while True:
        page = client.leads.get_all_leads(params={"start": start, "limit": 25})
        leads.extend(page["data"] or [])
        if not page["additional_data"]["more_items_in_collection"]:
            break
        start = page["additional_data"]["start"] + page["additional_data"]["limit"]
    # the full account plays Pipedrive's reading of a conversion: the lead is marked
    # deleted, so the list leaves it out, but it is still readable by id
    unconverted = {lead_uuid(dataset.seed, x.id) for x in dataset.leads if not x.converted_deal_id}
    assert {x["id"] for x in leads} == unconverted
    converted = next(x for x in dataset.leads if x.converted_deal_id)
    lead = client.leads.get_lead(lead_uuid(dataset.seed, converted.id))
    assert lead["success"] is True and lead["data"]["title"] == converted.title
    fields = client.deals.get_deal_fields()
    assert fields["success"] is True and fields["data"]
    assert all(f["key"] and f["name"] for f in fields["data"])


def test_deals_and_their_flow(client: Client, base_url: str, dataset: Dataset) -> None:
    deals = _v2_all(client, base_url, "deals", include_fields="source_lead_id")
    assert {d["id"] for d in deals} == {d.id for d in dataset.deals}
    converted = {d["id"] for d in deals if d["source_lead_id"]}
    assert converted == {d.id for d in dataset.deals if d.lead_id}
    moved = next(d for d in dataset.deals if len(open_stays(dataset, d)) > 2)
    flow = client.deals.get_deal_updates(moved.id, params={"items": "dealChange"})
    stages = [i["data"]["new_value"] for i in flow["data"] if i["data"]["field_key"] == "stage_id"]
    assert len(stages) == len(open_stays(dataset, moved)) - 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("persons", lambda ds: {c.id for c in ds.contacts}),
        ("organizations", lambda ds: {a.id for a in ds.accounts}),
        ("activities", lambda ds: {a.id for a in ds.activities if a.type != "NOTE"}),
        ("pipelines", lambda ds: {p.id for p in ds.pipelines}),
        ("stages", lambda ds: {s.id for s in ds.stages if not s.is_closed}),
    ],
)
def test_v2_lists_through_its_request_layer(
    client: Client, base_url: str, dataset: Dataset, path: str, expected: Any
) -> None:
    assert {item["id"] for item in _v2_all(client, base_url, path)} == expected(dataset)


@pytest.mark.off_contract(
    "asks an item type Pipedrive does not document, to get its 400",
    expect=['"delete_log" is not one of'],
)
def test_its_error_classes_see_pipedrive_errors(base_url: str, dataset: Dataset) -> None:
    client = Client(domain=base_url)
    client.set_api_token(API_TOKEN)
    with pytest.raises(BadRequestError, match="items"):
        client.recents.get_recent_changes(
            params={"since_timestamp": "2020-01-01 00:00:00", "items": "delete_log"}
        )
    with pytest.raises(NotFoundError):
        client._get(f"{base_url}/v1/nothingHere")
    stranger = Client(domain=base_url)
    stranger.set_api_token("not-the-token")
    with pytest.raises(UnauthorizedError, match="unauthorized"):
        stranger.users.get_all_users()
    with serve(PipedriveSimulator(dataset, account=Account.MINIMAL).asgi()) as minimal:
        restricted = Client(domain=minimal)
        restricted.set_api_token(API_TOKEN)
        with pytest.raises(ForbiddenError):
            restricted._get(f"{minimal}/v1/legacyTeams")


def test_oauth_refresh_then_bearer(base_url: str, dataset: Dataset) -> None:
    client = Client(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, domain=base_url)
    client.OAUTH_BASE_URL = f"{base_url}/oauth/"
    token = client.refresh_token("sim-refresh-token")
    assert token["token_type"] == "Bearer" and token["api_domain"]
    client.set_access_token(token["access_token"])
    assert len(client.users.get_all_users()["data"]) == len(dataset.users)
