"""CRM answers are counted in Prometheus's counters once a process has them
(core.prometheus: the API, a worker), and by nothing in one that syncs without exporting."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY, generate_latest

import core.observability
from core.observability import record_crm_response


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_crm_answers_are_counted_by_connector_and_failed_status() -> None:
    import core.prometheus  # noqa: F401  (what the API and the worker import)

    before = (
        _value("crmkpi_crm_requests_total", connector="probecrm"),
        _value("crmkpi_crm_error_responses_total", connector="probecrm", status="429"),
        _value("crmkpi_crm_error_responses_total", connector="probecrm", status="200"),
    )
    for status in (200, 429, 200, 429):
        record_crm_response("probecrm", status)
    after = (
        _value("crmkpi_crm_requests_total", connector="probecrm"),
        _value("crmkpi_crm_error_responses_total", connector="probecrm", status="429"),
        _value("crmkpi_crm_error_responses_total", connector="probecrm", status="200"),
    )
    assert [a - b for a, b in zip(after, before, strict=True)] == [4.0, 2.0, 0.0]
    exposed = generate_latest(REGISTRY).decode()  # what /metrics serves (api.observability)
    for line in (
        "# HELP crmkpi_crm_requests_total Requests sent to CRMs.",
        "# TYPE crmkpi_crm_requests_total counter",
        "# TYPE crmkpi_crm_error_responses_total counter",
        f'crmkpi_crm_requests_total{{connector="probecrm"}} {after[0]}',
        f'crmkpi_crm_error_responses_total{{connector="probecrm",status="429"}} {after[1]}',
    ):
        assert line in exposed.splitlines()


def test_without_counters_an_answer_is_counted_by_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    counted: list[tuple[str, int]] = []
    monkeypatch.setattr(core.observability, "_counter", None)
    record_crm_response("probecrm", 500)  # no counter: nothing happens, nothing fails
    core.observability.count_crm_responses(lambda name, status: counted.append((name, status)))
    record_crm_response("probecrm", 500)
    assert counted == [("probecrm", 500)]
