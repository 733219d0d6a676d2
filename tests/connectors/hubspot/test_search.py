"""The search read's way past the 10,000-result cap and through equal timestamps."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.hubspot import _search, settings

T0 = datetime(2024, 7, 1, tzinfo=UTC)
NOW = datetime(2024, 7, 2, tzinfo=UTC)
MS0 = int(T0.timestamp() * 1000)
NOW_MS = int(NOW.timestamp() * 1000)


def page(*records: tuple[str, int], after: int | None = None) -> dict:
    results = [
        {"id": rid, "properties": {"hs_lastmodifieddate": str(ms), "hs_object_id": rid}}
        for rid, ms in records
    ]
    out: dict = {"total": 50_000, "results": results}
    if after is not None:
        out["paging"] = {"next": {"after": str(after)}}
    return out


def filters(request) -> list[tuple[str, str, str]]:
    return [
        (f["propertyName"], f["operator"], f["value"])
        for f in request.json["filterGroups"][0]["filters"]
    ]


def first():
    return _search.first_request(settings.DEALS, ["dealname"], T0, NOW)


def test_pages_on_with_after_below_the_cap() -> None:
    nxt = _search.next_request(page(("5", MS0 + 1), after=200), first())
    assert nxt.json["after"] == "200"
    assert filters(nxt) == filters(first())


def test_last_page_ends_the_read() -> None:
    assert _search.next_request(page(("5", MS0 + 1)), first()) is None


def test_cap_reads_the_last_timestamp_by_id_then_goes_on_after_it() -> None:
    capped = _search.next_request(page(("9", MS0 + 500), after=settings.SEARCH_RESULT_CAP), first())
    assert "after" not in capped.json
    assert filters(capped) == [
        ("hs_lastmodifieddate", "EQ", str(MS0 + 500)),
        ("hs_object_id", "GT", "0"),
        ("hs_lastmodifieddate", "LT", str(NOW_MS)),
    ]
    assert capped.json["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    after_tie = _search.next_request(page(("9", MS0 + 500)), capped)
    assert filters(after_tie) == [
        ("hs_lastmodifieddate", "GT", str(MS0 + 500)),
        ("hs_lastmodifieddate", "LT", str(NOW_MS)),
    ]


def test_a_capped_window_of_one_timestamp_switches_to_ids() -> None:
    start = _search.next_request(page(("9", MS0), after=10_000), first())
    assert filters(start) == [
        ("hs_lastmodifieddate", "EQ", str(MS0)),
        ("hs_object_id", "GT", "0"),
        ("hs_lastmodifieddate", "LT", str(NOW_MS)),
    ]
    assert start.json["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    again = _search.next_request(page(("10400", MS0), after=10_000), start)
    assert ("hs_object_id", "GT", "10400") in filters(again)
    paged = _search.next_request(page(("10600", MS0), after=200), again)
    assert paged.json["after"] == "200" and filters(paged) == filters(again)
    done = _search.next_request(page(("12000", MS0)), paged)
    assert filters(done) == [
        ("hs_lastmodifieddate", "GT", str(MS0)),
        ("hs_lastmodifieddate", "LT", str(NOW_MS)),
    ]
    assert done.json["sorts"][0]["propertyName"] == "hs_lastmodifieddate"


def test_contacts_search_on_their_own_modified_property() -> None:
    request = _search.first_request(settings.CONTACTS, ["email"], T0, None)
    assert filters(request) == [("lastmodifieddate", "GTE", str(MS0))]
    assert request.path == "/crm/v3/objects/contacts/search"
    assert _search.is_search(request)
