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


@pytest.mark.off_contract("injects a neutral 429 body, which is not HubSpot's")
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


def test_a_violation_fails_the_test_it_happened_in() -> None:
    start = len(TRAFFIC.violations)
    TRAFFIC.violations.append("pipedrive GET /api/v2/deals -> 200: broken")
    try:
        plain = SimpleNamespace(get_closest_marker=lambda name: None)
        with pytest.raises(pytest.fail.Exception, match="during the test break") as failed:
            traffic._verdict(plain, start, "the test")  # type: ignore[arg-type]
        assert "pipedrive GET /api/v2/deals -> 200: broken" in str(failed.value)
        exempt = SimpleNamespace(get_closest_marker=lambda name: name == "off_contract")
        traffic._verdict(exempt, start, "the test")  # type: ignore[arg-type]
    finally:
        del TRAFFIC.violations[start:]
