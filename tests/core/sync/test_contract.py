"""The connector SDK of #18: capabilities, the HTTP layer's capability answers, Page and
``read_stream`` (no database), StreamStatus, the exported names."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

import core.sync
from core.models.enums import SyncMode
from core.sync import (
    Capabilities,
    Capability,
    CapabilityStatus,
    CapabilityUnavailable,
    Cursor,
    HttpClient,
    MappingError,
    Page,
    Request,
    Stream,
    StreamContext,
    read_stream,
)
from core.sync.errors import RequestFailed
from core.sync.http import SyncHttp
from core.sync.ratelimit import RateLimiter
from core.sync.records import AnyRecord, UserRecord
from core.sync.runs import RunStats, StreamStats, StreamStatus
from tests.core.sync.test_http import FAST, FakeConnector

LEADS = Capability(
    "leads_object",
    "Leads object",
    CapabilityStatus.UNAVAILABLE,
    "not available on this portal (HTTP 404)",
    streams=("leads",),
    kpis=("newLeads",),
)


def test_capabilities_round_trip_through_json() -> None:
    caps = Capabilities([LEADS, Capability("teams", "Teams", CapabilityStatus.AVAILABLE)])
    again = Capabilities.from_json(caps.to_json())
    assert again["leads_object"] == LEADS
    assert not again.available("leads_object")
    assert again.available("teams") and again.available("never_discovered")
    assert [c.key for c in again.unavailable()] == ["leads_object"]
    assert Capabilities.from_json(None) == {} and Capabilities.from_json({"x": 1}) == {}


def test_with_keeps_what_the_known_capability_said() -> None:
    caps = Capabilities([LEADS]).with_(
        Capability("leads_object", "leads_object", CapabilityStatus.AVAILABLE)
    )
    assert caps["leads_object"].status is CapabilityStatus.AVAILABLE
    assert caps["leads_object"].title == "Leads object"
    assert caps["leads_object"].kpis == ("newLeads",)


class LeadsConnector(FakeConnector):
    def unavailable_reason(self, response: httpx.Response) -> str | None:
        if response.status_code == 404:
            return "not available on this portal (HTTP 404)"
        return None


def _http(handler: Any) -> SyncHttp:
    connector = LeadsConnector()
    return SyncHttp(
        client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        connector=connector,
        credentials={},
        base_url="https://crm.test",
        limiter=RateLimiter(connector.rate_limit),
        retry=FAST,
    )


async def test_a_classified_answer_raises_capability_unavailable_without_retry() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(404, json={"message": "no such object"})

    http = _http(handler)
    with pytest.raises(CapabilityUnavailable) as raised:
        await http.send(Request(path="/crm/v3/objects/leads", capability="leads_object"))
    assert raised.value.key == "leads_object"
    assert raised.value.reason == "not available on this portal (HTTP 404)"
    assert calls == ["/crm/v3/objects/leads"] and http.retries == 0
    # Without a capability on the request the same answer is an ordinary failure.
    with pytest.raises(RequestFailed):
        await http.send(Request(path="/crm/v3/objects/leads"))
    # An answer the connector does not classify fails as before.
    http = _http(lambda request: httpx.Response(400, json={"message": "bad filter"}))
    with pytest.raises(RequestFailed):
        await http.send(Request(path="/x", capability="leads_object"))


def _user(n: int, minute: int) -> dict[str, Any]:
    return {"id": str(n), "name": f"u{n}", "updated": f"2026-01-01T00:{minute:02d}:00+00:00"}


class Users(Stream):
    """A declarative stream: two pages by ``next``, then one deletions page."""

    name = "users"
    produces = (UserRecord,)
    incremental = True
    finds_deletions = True

    def first_request(self, ctx: StreamContext) -> Request:
        return Request(path="/users")

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        return Request(path=page["next"]) if page.get("next") else None

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        results: Sequence[Mapping[str, Any]] = page["results"]
        return results

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        if raw["name"] == "bad":
            raise MappingError("no name")
        yield UserRecord(remote_id=raw["id"], name=raw["name"])

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        return Cursor(datetime.fromisoformat(raw["updated"]), raw["id"])

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        return Request(path="/users/deleted")

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Any], str]]:
        return [(UserRecord, str(i)) for i in page["ids"]]


class FakeHttp:
    def __init__(self, pages: Mapping[str, Any]) -> None:
        self.pages = pages
        self.sent: list[str] = []

    async def send(self, request: Request) -> Any:
        self.sent.append(request.path)
        return self.pages[request.path]


def _ctx(**kwargs: Any) -> StreamContext:
    return StreamContext(connection_id="c1", mode=SyncMode.FULL, **kwargs)


async def test_read_stream_drives_the_declarative_default_without_a_database() -> None:
    http = FakeHttp(
        {
            "/users": {"results": [_user(1, 5), _user(2, 9)], "next": "/users?p=2"},
            "/users?p=2": {"results": [_user(3, 7), {**_user(4, 1), "name": "bad"}]},
            "/users/deleted": {"ids": [9]},
        }
    )
    result = await read_stream(Users(), http, _ctx())
    assert [r.remote_id for r in result.records] == ["1", "2", "3"]
    assert [q.remote_id for q in result.quarantined] == ["4"]
    assert result.deleted == [(UserRecord, "9")]
    # Not cursor_ordered: the highest cursor, saved once the last page is read.
    assert result.cursor == Cursor(datetime(2026, 1, 1, 0, 9, tzinfo=UTC), "2")
    assert http.sent == ["/users", "/users?p=2", "/users/deleted"]


class Looped(Stream):
    """A stream that overrides ``read`` as a plain loop and sets its own cursors."""

    name = "looped"
    produces = (UserRecord,)
    incremental = True

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        for n in (1, 2):
            page = await http.send(Request(path=f"/p{n}"))
            yield Page(raws=page["results"], cursor=Cursor(datetime(2026, 2, n, tzinfo=UTC)))

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        yield UserRecord(remote_id=raw["id"], name=raw["name"])


async def test_a_stream_overriding_read_sets_its_own_cursor() -> None:
    http = FakeHttp({"/p1": {"results": [_user(1, 1)]}, "/p2": {"results": [_user(2, 2)]}})
    result = await read_stream(Looped(), http, _ctx())
    assert [r.remote_id for r in result.records] == ["1", "2"]
    assert result.cursor == Cursor(datetime(2026, 2, 2, tzinfo=UTC))
    assert result.pages == 2


def test_skipped_streams_leave_the_run_succeeded_blocked_ones_partial() -> None:
    def stats(*statuses: StreamStatus) -> RunStats:
        return RunStats(streams={f"s{i}": StreamStats(status=s) for i, s in enumerate(statuses)})

    assert stats(StreamStatus.DONE, StreamStatus.SKIPPED).status(None).value == "SUCCEEDED"
    assert stats(StreamStatus.DONE, StreamStatus.BLOCKED).status(None).value == "PARTIAL"
    assert stats(StreamStatus.DONE, StreamStatus.FAILED).status(None).value == "PARTIAL"
    assert list(stats(StreamStatus.DONE, StreamStatus.BLOCKED).incomplete()) == ["s1"]
    assert StreamStats(status=StreamStatus.SKIPPED).to_json()["status"] == "SKIPPED"


def test_the_sdk_exports_a_sorted_all_of_names_that_exist() -> None:
    names = core.sync.__all__
    assert all(hasattr(core.sync, n) for n in names)
    assert {"Connector", "Stream", "Page", "Cursor", "StreamContext", "read_stream"} <= set(names)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            {"status": "error", "message": "Property values were not valid"},
            "Property values were not valid",
        ),
        (
            [{"message": "sObject type 'Foo' is not supported.", "errorCode": "INVALID_TYPE"}],
            "sObject type 'Foo' is not supported.",
        ),
        ({"success": False, "error": "Scope and URL mismatch"}, "Scope and URL mismatch"),
        ({"errors": [{"message": "first\nline"}]}, "first line"),
        ({"nothing": 1}, None),
    ],
)
async def test_a_failed_request_carries_the_crms_own_message(body: Any, said: str | None) -> None:
    http = _http(lambda request: httpx.Response(400, json=body))
    with pytest.raises(RequestFailed) as raised:
        await http.send(Request(path="/v2/things"))
    expected = "fake: HTTP 400 on /v2/things" + (f": {said}" if said else "")
    assert str(raised.value) == expected
    http = _http(lambda request: httpx.Response(403, text="<html>Forbidden</html>"))
    with pytest.raises(RequestFailed, match=r"^fake: HTTP 403 on /v2/things$"):
        await http.send(Request(path="/v2/things"))
