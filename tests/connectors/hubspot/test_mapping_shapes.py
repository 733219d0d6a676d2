"""HubSpot mapping of the less usual shapes its fast paths must read as before: stage
history items repeated, unordered, padded or in epoch milliseconds; several bad fields
(the first read names the quarantine); associations whose first item is no plain label."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from connectors.hubspot import mapping
from core.sync.connector import MappingError
from tests.connectors.hubspot.fixtures import load


@pytest.fixture(scope="module")
def stages() -> dict[str, mapping.StageInfo]:
    return mapping.stage_infos(load("pipelines.json")["results"])


def _stays(records: list) -> list[tuple[str, datetime, datetime | None, str]]:
    return [(h.stage_remote_id, h.entered_at, h.exited_at, h.remote_id) for h in records[1:]]


def test_history_read_alike_repeated_shuffled_padded_and_in_epoch_ms(stages) -> None:
    clean = load("deal_with_history.json")
    expected = _stays(mapping.map_deal(clean, stages))
    odd = load("deal_with_history.json")
    items = odd["propertiesWithHistory"]["dealstage"]
    items[0]["value"] = "  qualifiedtobuy "
    items[3]["timestamp"] = str(int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000))
    items += [dict(i) for i in items]  # every write listed twice
    items += [{"value": "", "timestamp": "2024-05-01T00:00:00Z"}, {"value": "closedwon"}]
    random.Random(7).shuffle(items)
    assert _stays(mapping.map_deal(odd, stages)) == expected
    assert [s[0] for s in expected] == [
        "appointmentscheduled",
        "qualifiedtobuy",
        "presentationscheduled",
        "qualifiedtobuy",
    ]


def test_an_unreadable_history_date_is_a_mapping_error_even_without_a_stage(stages) -> None:
    raw = load("deal_with_history.json")
    raw["propertiesWithHistory"]["dealstage"].append({"value": "", "timestamp": "soon"})
    with pytest.raises(MappingError, match="timestamp: 'soon' is not a date"):
        mapping.map_deal(raw, stages)


@pytest.mark.parametrize(
    ("bad", "named"),
    [
        ({"amount": "12k", "createdate": "never"}, "amount"),
        ({"hs_mrr": "n/a", "hs_lastmodifieddate": "never"}, "hs_mrr"),
        ({"createdate": "never", "hs_lastmodifieddate": "later"}, "createdate"),
        ({"closedate": "never", "amount": "12k"}, "closedate"),
    ],
)
def test_the_first_bad_field_in_reading_order_names_the_quarantine(stages, bad, named) -> None:
    raw = load("deal_with_history.json")
    raw["properties"].update(bad)
    with pytest.raises(MappingError, match=f"^{named}:"):
        mapping.map_deal(raw, stages)


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([{"id": "5", "type": "call_to_deal"}], "5"),
        ([{"id": "5", "type": "call_to_deal_unlabeled"}, {"id": "6", "type": "x"}], "6"),
        ([{"id": "5", "type": "call_to_deal_unlabeled"}], "5"),
        ([{"id": 5, "type": "call_to_deal"}], "5"),
        ([{"id": "", "type": "call_to_deal"}, {"id": "6"}], "6"),
        ([{"id": "5"}], "5"),
        (["5", {"id": "6", "type": "call_to_deal"}], "6"),
        ([], None),
    ],
)
def test_first_association_of_every_shape(results, expected) -> None:
    raw = {
        "id": "1",
        "properties": {"hs_timestamp": "2024-05-01T10:00:00Z"},
        "associations": {"deals": {"results": results}},
    }
    assert mapping.map_engagement("calls", raw).deal_remote_id == expected


_LINKS = ("deals", "contacts", "companies", "leads")


@pytest.mark.parametrize(
    ("associations", "links"),
    [
        ({}, [None] * 4),
        (None, [None] * 4),
        ({"deals": {"results": [{"id": "5", "type": "call_to_deal"}]}}, ["5", None, None, None]),
        (
            {
                "deals": {"results": [{"id": "5", "type": "x_unlabeled"}, {"id": "6"}]},
                "contacts": {"results": []},
                "companies": {"results": [{"id": 7, "type": "call_to_company"}]},
                "leads": {"results": ["x", {"id": "", "type": "y"}, {"id": "8", "type": "z"}]},
            },
            ["6", None, "7", "8"],
        ),
        (
            {"deals": [], "contacts": {"results": None}, "companies": "no", "leads": {}},
            [None] * 4,
        ),
        ({"deals": {"results": ({"id": "9", "type": "call_to_deal"},)}}, ["9", None, None, None]),
        (
            {
                "deals": {"results": "abc"},
                "contacts": {"results": {0: {"id": "1", "type": "x"}}},
                "companies": {"results": [{"id": "3"}]},
                "leads": {"results": [["4"], {"id": "5", "type": None}]},
            },
            [None, None, "3", "5"],
        ),
    ],
)
def test_every_link_of_an_engagement_is_read_as_first_id_reads_it(associations, links) -> None:
    """``first_ids`` (all links at once, the documented block inline) answers for every
    shape what ``first_id`` answers type by type, a read-only Mapping included."""
    from types import MappingProxyType

    from connectors.hubspot._common import first_id, first_ids

    raw = {"id": "1", "properties": {"hs_timestamp": "2024-05-01T10:00:00Z"}}
    raw["associations"] = associations
    expected = [first_id(raw, to_type) for to_type in _LINKS]
    assert first_ids(raw, _LINKS) == expected
    activity = mapping.map_engagement("calls", raw)
    read = [activity.deal_remote_id, activity.contact_remote_id]
    assert [*read, activity.account_remote_id, activity.lead_remote_id] == expected
    if associations:
        proxied = {**raw, "associations": MappingProxyType(associations)}
        assert first_ids(proxied, _LINKS) == expected
    assert expected == links


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T10:00:00Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (" 2024-05-01T10:00:00.123456Z", datetime(2024, 5, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("20240501T100000Z", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("1714557600000", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        (1714557600000, datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
        ("  ", None),
        ("2024-05-01T10:00:00+00:00Z", MappingError),
        ("noon Z", MappingError),
    ],
)
def test_dates_of_every_shape_read_as_utc(value, expected) -> None:
    """The UTC "...Z" fast path answers what the general path does, and hands on what
    it cannot read (a space, an offset and a Z) to it, errors naming the property."""
    from connectors.hubspot import values

    props = {"closedate": value}
    if expected is MappingError:
        with pytest.raises(MappingError, match=r"^closedate:"):
            values.timestamp(props, "closedate")
        with pytest.raises(MappingError, match=r"^at:"):
            values.parse_datetime(value.strip(), "at")
        return
    read = values.timestamp(props, "closedate")
    assert read == expected
    assert read is None or (read.tzinfo is UTC and read.utcoffset() == expected.utcoffset())
    if read is not None:
        assert values.parse_datetime(str(value).strip(), "at") == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("false", False), (" TRUE", True), ("No", False), ("1", True), ("", None)],
)
def test_flags_of_every_spelling(value, expected) -> None:
    from connectors.hubspot import values

    assert values.flag({"hs_is_closed": value}, "hs_is_closed") is expected
    with pytest.raises(MappingError, match=r"^hs_is_closed:"):
        values.flag({"hs_is_closed": "maybe"}, "hs_is_closed")
