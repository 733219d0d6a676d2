"""Every request the connector sends and every answer the simulator gives, over a full
and an incremental read, match Pipedrive's documented contract (schemas derived from the
official client-nodejs, see SOURCES.md); and the checker itself catches what it should."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx

from connectors.pipedrive import streams
from connectors.pipedrive.simulator import API_TOKEN, PipedriveSimulator
from core.models.enums import SyncMode
from core.simulation.dataset import generate
from core.sync.connector import StreamContext
from tests.connectors.pipedrive.driver import Http, run_stream
from tests.contracts.pipedrive.check import (
    ContractRecorder,
    request_errors,
    response_errors,
    route_of,
)


async def test_connector_traffic_matches_the_documented_contract() -> None:
    dataset = generate(seed=11, deals=120)
    sim = PipedriveSimulator(dataset)
    recorder = ContractRecorder(sim.asgi())
    transport = httpx.ASGITransport(app=recorder)
    async with httpx.AsyncClient(transport=transport, base_url="http://pd.test") as client:
        http = Http(client, {"x-api-token": API_TOKEN})
        cursors = {}
        for stream in streams.all_streams():
            result = await run_stream(stream, http, StreamContext("c", SyncMode.FULL))
            cursors[stream.name] = result.cursor
        at = max(d.updated_at for d in dataset.deals) + timedelta(hours=1)
        dataset.delete(dataset.deals[:3], at)
        dataset.edit_deals(4, at)
        sim.refresh()
        for stream in streams.all_streams():
            ctx = StreamContext("c", SyncMode.INCREMENTAL, start_cursor=cursors[stream.name])
            await run_stream(stream, http, ctx)
        # the simulator's refusals answer the envelope too
        await client.get("/api/v2/nothing", headers={"x-api-token": API_TOKEN})
        await client.get("/api/v2/deals", headers={"x-api-token": "wrong"})
    assert recorder.checked > 40
    assert recorder.violations == []


def test_unknown_and_malformed_parameters_are_caught() -> None:
    route = route_of("GET", "/api/v2/deals")
    assert route == "GET /api/v2/deals"
    assert request_errors(route, [("include_fields", "source_lead_id"), ("limit", "500")]) == []
    assert request_errors(route, [("updated_after", "2026-01-01T00:00:00Z")])  # misspelt
    assert request_errors(route, [("include_fields", "source_lead")])  # not a documented value
    assert request_errors(route, [("status", "deleted,frozen")])
    assert request_errors(route, [("owner_id", "me")])
    assert request_errors("GET /v1/users", [("limit", "500")])  # /v1/users takes none
    assert route_of("GET", "/api/v1/deals/12/flow") == route_of("GET", "/v1/deals/3/flow")


def test_wrong_shapes_are_caught() -> None:
    route = "GET /api/v2/deals"
    good = {
        "success": True,
        "data": [{"id": 1, "title": "x"}],
        "additional_data": {"next_cursor": None},
    }
    assert response_errors(route, 200, json.dumps(good).encode()) == []
    misspelt = {**good, "data": [{"id": 1, "titel": "x"}]}
    assert response_errors(route, 200, json.dumps(misspelt).encode())
    wrong_type = {**good, "data": [{"id": "1"}]}
    assert response_errors(route, 200, json.dumps(wrong_type).encode())
    v1_style = {"success": True, "data": [], "additional_data": {"pagination": {}}}
    assert response_errors(route, 200, json.dumps(v1_style).encode())
    assert response_errors(route, 404, b"Not Found")  # text/plain 404s
    envelope = {"success": False, "error": "Deal not found", "errorCode": 404}
    assert response_errors(route, 404, json.dumps(envelope).encode()) == []
    assert response_errors(None, 200, json.dumps(good).encode())  # undocumented route
