"""The suite-wide contract check (tests/contracts/traffic.py): every simulator is observed,
a broken exchange fails its test with a precise message, injected faults are checked too,
and answers cut short on purpose are not."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from connectors.hubspot.simulator import create_simulator as hubspot_simulator
from connectors.pipedrive.simulator import PipedriveSimulator
from connectors.salesforce.simulator import create_simulator as salesforce_simulator
from core.simulation import observe
from core.simulation.dataset import generate
from core.simulation.faults import FaultMiddleware
from tests.contracts import traffic
from tests.contracts.traffic import TRAFFIC, Checked, Traffic


def _app(status: int, body: bytes, headers: dict[str, str] | None = None) -> Any:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        sent = {"content-type": "application/json", "content-length": str(len(body))}
        sent.update(headers or {})
        raw = [(k.encode(), v.encode()) for k, v in sent.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    return app


async def _get(app: Any, url: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        return await client.get(url)


def test_every_simulator_the_suite_builds_is_checked() -> None:
    data = generate(seed=2, deals=5)
    assert isinstance(hubspot_simulator(data=data).app, Checked)
    assert isinstance(PipedriveSimulator(data).app, Checked)
    assert isinstance(salesforce_simulator(seed=2, deals=5).app.app, Checked)


async def test_a_broken_answer_is_reported_with_the_exchange_and_the_rule() -> None:
    log = Traffic()
    owners = _app(200, b'{"results": [{"id": 7}]}')  # an id HubSpot sends as a string
    await _get(Checked("hubspot", owners, log), "/crm/v3/owners?limit=600")
    assert log.exchanges == [("hubspot", "GET", "/crm/v3/owners")]
    assert any(
        v.startswith("hubspot GET /crm/v3/owners?limit=600 -> 200: ") and "outside 1..500" in v
        for v in log.violations
    ), log.violations
    assert any('7 is not of type "string"' in v for v in log.violations), log.violations


async def test_an_answer_cut_short_on_purpose_is_not_checked() -> None:
    log = Traffic()
    cut = _app(200, b'{"results": [', {"content-length": "4096"})
    await _get(Checked("pipedrive", cut, log), "/api/v2/deals")  # 13 of 4,096 bytes
    assert log.exchanges == [] and log.violations == []


@pytest.mark.off_contract(
    "injects a neutral 429 body, which is not HubSpot's", expect=["RateLimitError"]
)
async def test_injected_faults_pass_the_observers_too() -> None:
    log = Traffic()

    def local(crm: str, app: Any) -> Any:
        return Checked(crm, app, log)

    observe.add_observer(local)
    try:
        faulty = FaultMiddleware(_app(200, b"{}"), "429every=1", crm="hubspot")
        response = await _get(faulty, "/crm/v3/owners")
    finally:
        observe.remove_observer(local)
    assert response.status_code == 429
    assert log.exchanges == [("hubspot", "GET", "/crm/v3/owners")]
    assert any("RateLimitError" in v for v in log.violations), log.violations


def _item(marker: Any = None) -> Any:
    """A stand-in test item carrying ``marker`` (an ``off_contract`` mark) or none."""
    mark = None if marker is None else marker.mark
    return SimpleNamespace(get_closest_marker=lambda name: mark if name == "off_contract" else None)


def test_a_violation_fails_the_test_it_happened_in() -> None:
    start = len(TRAFFIC.violations)
    TRAFFIC.violations.append("pipedrive GET /api/v2/deals -> 200: broken")
    expected = TRAFFIC.expected
    try:
        with pytest.raises(pytest.fail.Exception, match="during the test break") as failed:
            traffic._verdict(_item(), start, "the test")
        assert "pipedrive GET /api/v2/deals -> 200: broken" in str(failed.value)
        traffic._verdict(
            _item(pytest.mark.off_contract("why", expect=["broken"])), start, "the test"
        )
        assert TRAFFIC.expected == expected + 1
    finally:
        TRAFFIC.expected = expected
        del TRAFFIC.violations[start:]


def test_off_contract_excuses_only_the_violations_it_names() -> None:
    start = len(TRAFFIC.violations)
    TRAFFIC.violations += [
        "hubspot GET /crm/v3/objects/deals -> 200: limit 500 outside 1..100",
        'hubspot GET /crm/v3/objects/deals -> 200: 7 is not of type "string"',
    ]
    probe = _item(pytest.mark.off_contract("asks limit=500", expect=["limit 500 outside"]))
    expected = TRAFFIC.expected
    try:
        with pytest.raises(pytest.fail.Exception, match="1 simulator exchange") as failed:
            traffic._verdict(probe, start, "the test")
        assert "is not of type" in str(failed.value) and "limit 500" not in str(failed.value)
    finally:
        TRAFFIC.expected = expected
        del TRAFFIC.violations[start:]


def test_off_contract_fails_when_its_probe_breaks_nothing_or_names_nothing() -> None:
    start = len(TRAFFIC.violations)
    stale = _item(pytest.mark.off_contract("asks limit=500", expect=["limit 500 outside"]))
    with pytest.raises(pytest.fail.Exception, match=r"no longer provokes.*limit 500 outside"):
        traffic._verdict(stale, start, "the test")
    traffic._verdict(stale, start, "teardown")  # the probe is the test's, not its fixtures'
    vague = _item(pytest.mark.off_contract("probes something"))
    with pytest.raises(pytest.fail.Exception, match="needs expect"):
        traffic._verdict(vague, start, "the test")
