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
