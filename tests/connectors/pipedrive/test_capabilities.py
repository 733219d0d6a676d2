"""Degraded paths against respx-mocked Pipedrive answers: how the connector classifies
"not on this account" (402 plan, 403 permission, 404) from Pipedrive's error envelope,
what discovery reports, and how each stream with an optional part carries on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import respx

from connectors.pipedrive import streams
from connectors.pipedrive._capabilities import CONVERSION_KPIS, discover
from connectors.pipedrive.connector import PipedriveConnector
from core.models.enums import SyncMode
from core.sync.capabilities import (
    Capabilities,
    Capability,
    CapabilityStatus,
    CapabilityUnavailable,
)
from core.sync.connector import StreamContext
from core.sync.records import ActivityRecord, DealRecord, UserRecord
from tests.connectors.pipedrive.conftest import load
from tests.connectors.pipedrive.driver import Http, run_stream

BASE = "https://acme.pipedrive.com"
INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."


def _error(status: int, message: str) -> httpx.Response:
    """Pipedrive's error envelope, as its API reference documents it."""
    body = {
        "success": False,
        "error": message,
        "errorCode": status,
        "error_info": INFO,
        "data": None,
        "additional_data": None,
    }
    return httpx.Response(status, json=body)


def _v2(data: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(
        200, json={"success": True, "data": data, "additional_data": {"next_cursor": None}}
    )


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    async with httpx.AsyncClient(base_url=BASE) as client:
        yield Http(client, {"x-api-token": "t0k"})


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (402, "Feature not in your plan", "not on this company's plan (HTTP 402: Feature"),
        (403, "Only admins can access", "not permitted for this token (HTTP 403: Only admins"),
        (404, "Not found", "not available on this account (HTTP 404: Not found)"),
        (400, "Bad request", None),
        (401, "unauthorized access", None),
        (429, "Request over limit", None),
    ],
)
def test_unavailable_reason_reads_the_envelope(
    status: int, message: str, expected: str | None
) -> None:
    reason = PipedriveConnector().unavailable_reason(_error(status, message))
    assert (reason is None) if expected is None else (reason or "").startswith(expected)


@respx.mock
async def test_discover_reports_each_optional_endpoint(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/legacyTeams").mock(
        return_value=_error(403, "You do not have permission to access this resource")
    )
    respx.get(f"{BASE}/api/v2/deals/archived").mock(return_value=_error(404, "Not found"))
    respx.get(f"{BASE}/api/v1/notes").mock(return_value=httpx.Response(200, json=load("notes_v1")))
    respx.get(f"{BASE}/api/v1/activityTypes").mock(
        return_value=httpx.Response(200, json=load("activity_types"))
    )
    deal = load("deals_v2")["data"][0]
    respx.get(f"{BASE}/api/v2/deals").mock(return_value=_v2([deal]))
    found = {c.key: c for c in await discover(http)}
    assert found["teams"].status is CapabilityStatus.UNAVAILABLE
    assert found["teams"].streams == ("teams",)
    assert "HTTP 403" in (found["teams"].reason or "")
    assert found["archived_deals"].status is CapabilityStatus.UNAVAILABLE
    assert found["notes"].status is CapabilityStatus.AVAILABLE
    assert found["activity_types"].status is CapabilityStatus.AVAILABLE
    assert found["lead_conversions"].status is CapabilityStatus.AVAILABLE
    assert found["lead_conversions"].kpis == CONVERSION_KPIS
    deals_probe = [c for c in respx.calls if c.request.url.path == "/api/v2/deals"]
    assert deals_probe[0].request.url.params["include_fields"] == "source_lead_id"


@respx.mock
async def test_discover_tells_unknown_and_absent_conversions_apart(http: Http) -> None:
    for path in ("/api/v1/legacyTeams", "/api/v2/deals/archived", "/api/v1/notes"):
        respx.get(f"{BASE}{path}").mock(return_value=_v2([]))
    respx.get(f"{BASE}/api/v1/activityTypes").mock(return_value=_v2([]))
    route = respx.get(f"{BASE}/api/v2/deals").mock(return_value=_v2([]))
    found = {c.key: c for c in await discover(http)}
    assert found["lead_conversions"].status is CapabilityStatus.UNKNOWN  # no deal to tell
    without = {k: v for k, v in load("deals_v2")["data"][1].items() if k != "source_lead_id"}
    route.mock(return_value=_v2([without]))
    found = {c.key: c for c in await discover(http)}
    assert found["lead_conversions"].status is CapabilityStatus.UNAVAILABLE


@respx.mock
async def test_users_without_teams_access_keep_their_users(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/users").mock(return_value=httpx.Response(200, json=load("users_v1")))
    teams = respx.get(f"{BASE}/api/v1/legacyTeams").mock(
        return_value=_error(403, "You do not have permission to access this resource")
    )
    result = await run_stream(streams.UsersStream(), http, StreamContext("c", SyncMode.FULL))
    users = [r for r in result.records if isinstance(r, UserRecord)]
    assert users and all(u.team_remote_id is None for u in users)
    assert teams.call_count == 1
    # once known unavailable, it is not asked again
    known = Capabilities(
        [Capability("teams", "Teams", CapabilityStatus.UNAVAILABLE, "HTTP 403", ("teams",))]
    )
    ctx = StreamContext("c", SyncMode.FULL, capabilities=known)
    await run_stream(streams.UsersStream(), http, ctx)
    assert teams.call_count == 1


@respx.mock
async def test_teams_stream_meets_the_403_as_a_missing_capability(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/legacyTeams").mock(return_value=_error(403, "Admins only"))
    with pytest.raises(CapabilityUnavailable) as raised:
        await run_stream(streams.TeamsStream(), http, StreamContext("c", SyncMode.FULL))
    assert raised.value.key == "teams" and "HTTP 403" in raised.value.reason
    assert streams.TeamsStream.requires == ("teams",)
    assert streams.NotesStream.requires == ("notes",)


@respx.mock
async def test_notes_a_token_may_not_read_are_a_missing_capability(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/notes").mock(
        return_value=_error(403, "You do not have permission to view notes")
    )
    with pytest.raises(CapabilityUnavailable) as raised:
        await run_stream(streams.NotesStream(), http, StreamContext("c", SyncMode.FULL))
    assert raised.value.key == "notes"


@respx.mock
async def test_activities_without_activity_types_still_map(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/activityTypes").mock(return_value=_error(402, "Not in plan"))
    respx.get(f"{BASE}/api/v2/activities").mock(
        return_value=httpx.Response(200, json=load("activities_v2"))
    )
    result = await run_stream(streams.ActivitiesStream(), http, StreamContext("c", SyncMode.FULL))
    mapped = [r for r in result.records if isinstance(r, ActivityRecord)]
    # every item maps but the fixture's one with an unreadable due time
    assert len(mapped) == len(load("activities_v2")["data"]) - 1
    assert [e.split(":")[0] for e in result.errors] == ["404"]


@respx.mock
async def test_deals_without_archived_deals_read_the_rest(http: Http) -> None:
    respx.get(f"{BASE}/api/v1/dealFields").mock(
        side_effect=lambda req: httpx.Response(
            200,
            json=load("deal_fields_page2" if req.url.params.get("start") == "5" else "deal_fields"),
        )
    )
    archived = respx.get(f"{BASE}/api/v2/deals/archived").mock(
        return_value=_error(404, "Not found")
    )
    deals = load("deals_v2")["data"][:3]
    respx.get(f"{BASE}/api/v2/deals").mock(
        side_effect=lambda req: _v2([] if req.url.params.get("status") == "deleted" else deals)
    )
    # not yet known: met mid-run, the archived list is left out and the read goes on
    result = await run_stream(streams.DealsStream(), http, StreamContext("c", SyncMode.FULL))
    assert {r.remote_id for r in result.records if isinstance(r, DealRecord)} == {
        str(d["id"]) for d in deals
    }
    assert archived.call_count == 1
    # known unavailable (discovered): not asked at all
    known = Capabilities(
        [Capability("archived_deals", "Archived deals", CapabilityStatus.UNAVAILABLE, "404")]
    )
    await run_stream(
        streams.DealsStream(), http, StreamContext("c", SyncMode.FULL, capabilities=known)
    )
    assert archived.call_count == 1


def test_the_connector_builds_its_simulator_from_the_options() -> None:
    from core.simulation.options import Account, SimulatorOptions

    app = PipedriveConnector.simulator(SimulatorOptions(seed=2, deals=20, account=Account.MINIMAL))
    simulator = app.app.state.simulator  # FaultMiddleware -> the Starlette app
    assert simulator.account is Account.MINIMAL and simulator.burst_limit is None
    limited = PipedriveConnector.simulator(SimulatorOptions(seed=2, deals=20, rate_limit=True))
    assert limited.app.state.simulator.burst_limit == 80
