"""The simulator driven by HubSpot's official Python client (``hubspot-api-client``):
list, search, batch read, v4 associations, properties, pipelines, owners and errors, with
every exchange checked against the contract (tests/contracts/hubspot)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.deals import (
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectId,
)
from hubspot.crm.deals.exceptions import ApiException

from connectors.hubspot.simulator import ACCESS_TOKEN, HubSpotSimulator, create_app
from tests.connectors.hubspot.conftest import make_simulator
from tests.contracts.traffic import Window
from tests.support.server import serve

ALWAYS = {"hs_object_id", "createdate", "hs_lastmodifieddate"}


@pytest.fixture(scope="module")
def sim() -> HubSpotSimulator:
    return make_simulator(deals=120)


@pytest.fixture
def client(sim: HubSpotSimulator, contract_traffic: Window) -> Iterator[HubSpot]:
    """The official client on the simulator (every exchange checked against the contract,
    tests/contracts/traffic.py)."""
    with serve(create_app(simulator=sim)) as base_url:
        yield HubSpot(access_token=ACCESS_TOKEN, host=base_url)
    assert contract_traffic.exchanges("hubspot")


def test_list_pages_with_narrowed_properties(client: HubSpot, sim: HubSpotSimulator) -> None:
    first = client.crm.deals.basic_api.get_page(limit=50, properties=["dealname", "amount"])
    assert len(first.results) == 50 and first.paging.next.after
    assert all(set(d.properties) == {"dealname", "amount", *ALWAYS} for d in first.results)
    second = client.crm.deals.basic_api.get_page(limit=50, after=first.paging.next.after)
    assert {d.id for d in first.results}.isdisjoint(d.id for d in second.results)


def test_archived_true_lists_only_archived_records(client: HubSpot) -> None:
    archived = client.crm.deals.basic_api.get_page(limit=100, archived=True)
    assert archived.results and all(d.archived and d.archived_at for d in archived.results)
    live = client.crm.deals.basic_api.get_page(limit=100, archived=False)
    assert not any(d.archived for d in live.results)


def test_search_filters_sorts_and_narrows(client: HubSpot, sim: HubSpotSimulator) -> None:
    won = [d for d in sim.data.deals if d.status == "WON"]
    request = PublicObjectSearchRequest(
        filter_groups=[
            FilterGroup(
                filters=[Filter(property_name="hs_is_closed_won", operator="EQ", value="true")]
            )
        ],
        sorts=["hs_object_id"],
        properties=["dealstage"],
        limit=200,
    )
    found = client.crm.deals.search_api.do_search(public_object_search_request=request)
    assert found.total == len(won)
    assert [int(d.id) for d in found.results] == sorted(d.id for d in won)
    assert all(set(d.properties) == {"dealstage", *ALWAYS} for d in found.results)


def test_batch_read_with_history(client: HubSpot, sim: HubSpotSimulator) -> None:
    deal = next(d for d in sim.data.deals if len(d.history) > 1)
    read = client.crm.deals.batch_api.read(
        batch_read_input_simple_public_object_id=BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=str(deal.id))],
            properties=["dealstage"],
            properties_with_history=["dealstage"],
        )
    )
    (result,) = read.results
    assert len(result.properties_with_history["dealstage"]) == len(deal.history)


def test_associations_v4_batch_read(client: HubSpot, sim: HubSpotSimulator) -> None:
    deal = next(d for d in sim.data.deals if d.account_id)
    page = client.crm.associations.v4.batch_api.get_page(
        from_object_type="deals",
        to_object_type="companies",
        batch_input_public_fetch_associations_batch_request=BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[PublicFetchAssociationsBatchRequest(id=str(deal.id))]
        ),
    )
    (result,) = page.results
    assert [str(t.to_object_id) for t in result.to] == [str(deal.account_id)]


def test_properties_pipelines_and_owners(client: HubSpot, sim: HubSpotSimulator) -> None:
    names = {p.name for p in client.crm.properties.core_api.get_all(object_type="deals").results}
    assert {"dealname", "amount", "dealstage", "hs_lastmodifieddate"} <= names
    pipelines = client.crm.pipelines.pipelines_api.get_all(object_type="deals").results
    assert len(pipelines) == len(sim.data.pipelines)
    owners = client.crm.owners.owners_api.get_page(limit=100).results
    assert {o.id for o in owners} == {str(u.id) for u in sim.data.users}


def test_errors_come_in_hubspot_shape(client: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        client.crm.deals.basic_api.get_by_id(deal_id="999999999999")
    assert caught.value.status == 404
