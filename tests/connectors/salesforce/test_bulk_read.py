"""Bulk reads: child rows stitched to their parents, resume state, reuse of old jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.salesforce import bulk, settings
from connectors.salesforce.bulk_read import (
    BulkRead,
    ChildQuery,
    ChildSpool,
    Plan,
    open_read,
)
from connectors.salesforce.paths import ApiPaths
from core.sync.connector import Cursor, Request, TextBody
from core.sync.errors import RequestFailed

HISTORY = ChildQuery("OpportunityHistories", "OpportunityHistory", "OpportunityId", ("StageName",))


def test_spool_gives_each_parent_its_children_oldest_first_or_none() -> None:
    spool = ChildSpool()
    spool.add(
        HISTORY,
        [
            {"Id": "008B", "OpportunityId": "006A", "StageName": "Won", "CreatedDate": "2026-02"},
            {"Id": "008A", "OpportunityId": "006A", "StageName": "New", "CreatedDate": "2026-01"},
            {"Id": "008C", "OpportunityId": "006Z", "StageName": "New", "CreatedDate": "2026-01"},
        ],
    )
    spool.ready()
    parents: list[dict[str, Any]] = [{"Id": "006A"}, {"Id": "006B"}]
    spool.attach(parents, ["OpportunityHistories"])
    first = parents[0]["OpportunityHistories"]
    assert first["totalSize"] == 2 and first["done"] is True
    assert [r["StageName"] for r in first["records"]] == ["New", "Won"]
    assert first["records"][0]["attributes"] == {"type": "OpportunityHistory"}
    assert "OpportunityId" not in first["records"][0]  # REST selects only the asked fields
    assert parents[1]["OpportunityHistories"] is None
    spool.close()


def test_cursor_carries_the_job_and_next_locator_until_the_last_page() -> None:
    plan = Plan("Account", ["Id", "SystemModstamp"], [], False, {})
    read = BulkRead(ApiPaths(), plan, "750x", child_jobs={"Histories": "750y"})
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def cursor_of(row: Any) -> Cursor:
        return Cursor(at.replace(day=int(row["SystemModstamp"])), row["Id"])

    read.extract("Id,SystemModstamp\n001B,3\n001A,2\n", {"sforce-locator": "MjA"}, cursor_of)
    middle = read.cursor()
    assert middle == Cursor(at.replace(day=3), "001B")
    assert middle is not None and middle.resume == {
        "job": "750x",
        "locator": "MjA",
        "child:Histories": "750y",
    }
    assert read.next_request({"sforce-locator": "MjA"}) == bulk.results(ApiPaths(), "750x", "MjA")
    read.extract("Id,SystemModstamp\n001C,1\n", {"sforce-locator": "null"}, cursor_of)
    last = read.cursor()
    assert last == Cursor(at.replace(day=3), "001B") and last is not None
    assert last.resume is None and read.done


class _Org:
    """Answers job status by a script: a state, or an HTTP error status."""

    def __init__(self, status: int | str, total: int = 5) -> None:
        self.status, self.total = status, total
        self.sent: list[Request] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request)
        if request.method == "POST":
            return {"id": "750new", "state": "UploadComplete"}
        if request.path.endswith("/query"):
            return {"totalSize": self.total, "done": True, "records": []}
        if request.path.endswith("/results"):
            return TextBody("Id\n", {"sforce-locator": "null"})
        if "750old" in request.path and isinstance(self.status, int):
            raise RequestFailed("gone", status=self.status)
        state = self.status if "750old" in request.path else "JobComplete"
        return {"id": "750", "state": state}


@pytest.fixture(autouse=True)
def _no_poll_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "BULK_POLL_SECONDS", 0.0)


async def test_an_existing_job_is_continued_at_its_locator() -> None:
    org = _Org("JobComplete")
    plan = Plan("Opportunity", ["Id"], [], False, {}, [HISTORY])
    resume = {"job": "750old", "locator": "MTAw", "child:OpportunityHistories": "750old"}
    read = await open_read(org, ApiPaths(bulk_threshold=10), plan, resume=resume)
    assert read is not None and read.job_id == "750old"
    assert read.first_request().params == {
        "maxRecords": settings.BULK_PAGE_ROWS_WITH_CHILDREN,  # rows carry their history
        "locator": "MTAw",
    }
    assert read.child_jobs == {"OpportunityHistories": "750old"}
    assert not [r for r in org.sent if r.method == "POST"]  # no new job, no count
    assert not [r for r in org.sent if r.path.endswith("/query")]


@pytest.mark.parametrize("status", [404, 400, 409, "Failed", "Aborted"])
async def test_a_gone_job_is_started_over_or_left_to_rest(status: int | str) -> None:
    plan = Plan("Account", ["Id"], [], False, {})
    resume = {"job": "750old", "locator": "MTAw"}
    api = ApiPaths(bulk_threshold=10)
    above = await open_read(_Org(status, total=50), api, plan, resume=resume)
    assert above is not None and above.job_id == "750new" and above.locator is None
    below = await open_read(_Org(status, total=5), api, plan, resume=resume)
    assert below is None  # few rows now: REST pages


async def test_other_errors_while_checking_a_job_are_not_hidden() -> None:
    plan = Plan("Account", ["Id"], [], False, {})
    with pytest.raises(RequestFailed):
        await open_read(_Org(401), ApiPaths(), plan, resume={"job": "750old", "locator": ""})
