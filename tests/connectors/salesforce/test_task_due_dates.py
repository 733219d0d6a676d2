"""A task's due date (``Task.ActivityDate``) is a date of the org's calendar: due from its
local midnight in ``Organization.TimeZoneSidKey``, read once per run."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import respx

from connectors.salesforce import activities, objects
from core.sync import read_stream
from core.sync.records import ActivityRecord
from tests.connectors.salesforce.conftest import load_fixture
from tests.connectors.salesforce.test_streams import DATA, Http, ctx, soql_of

TASK_FIELDS = ("Id", "ActivityDate", "IsClosed", "Subject", "CreatedDate", "SystemModstamp")


def test_a_due_date_starts_at_midnight_in_the_org_time_zone() -> None:
    raw = {"Id": "00T1", "ActivityDate": "2026-12-31", "CreatedDate": "2026-10-02T14:00:00Z"}
    new_york = activities.map_task(raw, ZoneInfo("America/New_York"))
    assert new_york.due_at == datetime(2026, 12, 31, 5, tzinfo=UTC)
    madrid = activities.map_task(raw, ZoneInfo("Europe/Madrid"))
    assert madrid.due_at == datetime(2026, 12, 30, 23, tzinfo=UTC)
    assert activities.map_task(raw).due_at == datetime(2026, 12, 31, tzinfo=UTC)  # UTC default
    assert activities.map_task({**raw, "ActivityDate": None}).due_at is None


async def _due_dates(timezone_key: object) -> list[datetime | None]:
    respx.get(f"{DATA}/sobjects/Task/describe").respond(
        json={"fields": [{"name": n} for n in TASK_FIELDS], "childRelationships": []}
    )
    organization = {"records": [{"TimeZoneSidKey": timezone_key}], "done": True, "totalSize": 1}

    def answer(request: httpx.Request) -> httpx.Response:
        query = soql_of(request)
        if "FROM Organization" in query:
            return httpx.Response(200, json=organization)
        if "IsDeleted = true" in query:  # the recycle bin: empty
            return httpx.Response(200, json={"totalSize": 0, "done": True, "records": []})
        return httpx.Response(200, json=load_fixture("tasks.json"))

    respx.get(f"{DATA}/query").mock(side_effect=answer)
    respx.get(f"{DATA}/queryAll").mock(side_effect=answer)
    async with httpx.AsyncClient() as client:
        result = await read_stream(objects.TasksStream(), Http(client), ctx())
    return [r.due_at for r in result.records if isinstance(r, ActivityRecord)]


@respx.mock
async def test_tasks_read_the_org_time_zone_once() -> None:
    due = await _due_dates("America/Los_Angeles")
    # tasks.json: due 2 October, undated, 1 December, 1 May 2019 (Pacific midnights).
    assert due == [
        datetime(2026, 10, 2, 7, tzinfo=UTC),
        None,
        datetime(2026, 12, 1, 8, tzinfo=UTC),
        datetime(2019, 5, 1, 7, tzinfo=UTC),
    ]
    organization = [c for c in respx.calls if "Organization" in str(c.request.url)]
    assert len(organization) == 1


@respx.mock
async def test_an_unknown_time_zone_reads_due_dates_in_utc() -> None:
    due = await _due_dates("Mars/Olympus_Mons")
    assert due[0] == datetime(2026, 10, 2, tzinfo=UTC)
