"""Salesforce capabilities (issue #18) and the simulator options that make accounts differ
(issue #23): discovery from the global describe and /limits, the classification of
Salesforce's "not on this org" answers, child results read to their end whichever way the
answer says it is unfinished, and ``crmkpi simulate``'s options reaching the org."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors.salesforce.children import complete_children
from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.simulator import CREDENTIALS
from core.models.enums import SyncMode
from core.simulation.options import Account, SimulatorOptions
from core.sync.capabilities import CapabilityStatus
from core.sync.connector import Request, StreamContext

DATA = "/services/data/v66.0"


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, json=[{"message": "x", "errorCode": code}])


@pytest.mark.parametrize(
    ("response", "unavailable"),
    [
        (_error(400, "INVALID_TYPE"), True),
        (_error(404, "NOT_FOUND"), True),
        (_error(403, "INSUFFICIENT_ACCESS"), True),
        (_error(403, "API_DISABLED_FOR_ORG"), True),
        (_error(403, "FUNCTIONALITY_NOT_ENABLED"), True),
        (_error(400, "FUNCTIONALITY_NOT_ENABLED"), True),
        (_error(403, "REQUEST_LIMIT_EXCEEDED"), False),  # the daily quota, not a capability
        (_error(400, "MALFORMED_QUERY"), False),
        (_error(400, "INVALID_FIELD"), False),
        (_error(500, "UNKNOWN_EXCEPTION"), False),
    ],
)
def test_unavailable_answers_are_classified(response: httpx.Response, unavailable: bool) -> None:
    reason = SalesforceConnector().unavailable_reason(response)
    assert (reason is not None) is unavailable


class _Org:
    """An HttpClient with recorded answers of a minimal org."""

    def __init__(self, limits: dict[str, Any]) -> None:
        self.limits = limits

    async def send(self, request: Request) -> Any:
        if request.path.endswith("/sobjects/"):
            names = ["Account", "Opportunity", "Lead", "User", "RecordType", "BusinessProcess"]
            return {"sobjects": [{"name": n, "queryable": True} for n in names]}
        assert request.path.endswith("/limits")
        return self.limits


@pytest.mark.parametrize(
    ("limits", "bulk"),
    [
        ({"DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 9}}, CapabilityStatus.AVAILABLE),
        ({"DailyBulkV2QueryJobs": {"Max": 0, "Remaining": 0}}, CapabilityStatus.UNAVAILABLE),
        ({}, CapabilityStatus.UNKNOWN),  # the limits do not say: a job is tried
    ],
)
async def test_discovery_reads_the_global_describe_and_limits(
    limits: dict[str, Any], bulk: CapabilityStatus
) -> None:
    found = {
        c.key: c
        for c in await SalesforceConnector().discover(
            _Org(limits), StreamContext("c", SyncMode.FULL)
        )
    }
    assert found["bulk_api"].status is bulk
    assert found["record_types"].status is CapabilityStatus.AVAILABLE
    for key, stream in (("currency_types", "currencies"), ("user_roles", "teams")):
        assert found[key].status is CapabilityStatus.UNAVAILABLE
        assert stream in found[key].streams and found[key].reason
    assert found["lead_history"].status is CapabilityStatus.UNAVAILABLE
    assert not any(c.kpis for c in found.values())  # every KPI stays computable


class _Batches:
    def __init__(self, pages: dict[str, Any]) -> None:
        self.pages, self.sent = pages, []  # type: dict[str, Any], list[str]

    async def send(self, request: Request) -> Any:
        self.sent.append(request.path)
        return self.pages[request.path]


async def test_child_results_are_read_to_the_end_whichever_way_they_say_so() -> None:
    rows: list[dict[str, Any]] = [
        {  # the documented form: done false and a nextRecordsUrl
            "Id": "006A",
            "OpportunityHistories": {
                "totalSize": 3,
                "done": False,
                "nextRecordsUrl": f"{DATA}/query/0r8A-1",
                "records": [{"StageName": "a"}],
            },
        },
        {  # no "done" at all, only a nextRecordsUrl: followed too
            "Id": "006B",
            "OpportunityHistories": {
                "nextRecordsUrl": f"{DATA}/query/0r8B-1",
                "records": [{"StageName": "x"}],
            },
        },
        {"Id": "006C", "OpportunityHistories": None},
    ]
    http = _Batches(
        {
            f"{DATA}/query/0r8A-1": {
                "totalSize": 3,
                "done": False,
                "nextRecordsUrl": f"{DATA}/query/0r8A-2",
                "records": [{"StageName": "b"}],
            },
            f"{DATA}/query/0r8A-2": {"totalSize": 3, "done": True, "records": [{"StageName": "c"}]},
            f"{DATA}/query/0r8B-1": {"records": [{"StageName": "y"}]},
        }
    )
    assert await complete_children(http, rows, ["OpportunityHistories"]) == 3
    first, second, third = (r["OpportunityHistories"] for r in rows)
    assert [r["StageName"] for r in first["records"]] == ["a", "b", "c"]
    assert first["done"] is True and "nextRecordsUrl" not in first
    assert [r["StageName"] for r in second["records"]] == ["x", "y"]
    assert third is None


async def test_simulator_options_reach_the_org() -> None:
    app = SalesforceConnector.simulator(
        SimulatorOptions(seed=2, deals=30, account=Account.MINIMAL, rate_limit=True, faults=None)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sf") as c:
        token = await c.post(
            "/services/oauth2/token", data={"grant_type": "refresh_token", **CREDENTIALS}
        )
        c.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        limits = (await c.get(f"{DATA}/limits")).json()
        assert limits["DailyApiRequests"]["Max"] == 15_000  # --rate-limit: a Developer org
        assert "DailyBulkV2QueryJobs" not in limits  # minimal: no Bulk API
        listed = (await c.get(f"{DATA}/sobjects/")).json()
        assert "CurrencyType" not in {o["name"] for o in listed["sobjects"]}
        gone = await c.get(
            f"{DATA}/queryAll", params={"q": "SELECT Id FROM Opportunity WHERE IsDeleted = true"}
        )
        assert gone.json()["totalSize"] > 0  # the CLI's dataset holds deletions


async def test_injected_faults_answer_in_salesforce_s_shape() -> None:
    app = SalesforceConnector.simulator(SimulatorOptions(seed=2, deals=10, faults="5xx=1.0"))
    bearer = {"authorization": "Bearer 00D!sim"}  # faults strike before the token is read
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://sf") as c:
        answer = await c.get(f"{DATA}/limits", headers=bearer)
    assert answer.status_code in (500, 502, 503)
    (error,) = answer.json()
    assert error["errorCode"] in ("UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE")
    assert answer.headers["sforce-limit-info"].startswith("api-usage=")
    throttled = SalesforceConnector.simulator(
        SimulatorOptions(seed=2, deals=10, faults="429every=1")
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(throttled), base_url="http://s"
    ) as c:
        answer = await c.get(f"{DATA}/limits", headers=bearer)
    assert answer.status_code == 429
    assert answer.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
