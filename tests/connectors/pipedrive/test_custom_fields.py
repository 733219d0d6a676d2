"""Hash-keyed custom fields named and labelled from the field metadata."""

from __future__ import annotations

from connectors.pipedrive.custom_fields import FieldCatalog, is_custom_key, picks

SET_KEY = "1234567890abcdef1234567890abcdef12345678"
ADDR_KEY = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def _catalog() -> FieldCatalog:
    return FieldCatalog.from_metadata(
        [
            {
                "key": SET_KEY,
                "name": "Competitors",
                "field_type": "set",
                "options": [{"id": 70, "label": "Acme"}, {"id": 71, "label": "Globex"}],
            },
            {"key": ADDR_KEY, "name": "HQ", "field_type": "address"},
            {"key": "title", "name": "Title", "field_type": "varchar"},
            {"name": "no key, ignored"},
        ]
    )


def test_is_custom_key_only_for_40_hex_characters() -> None:
    assert is_custom_key(SET_KEY)
    assert not is_custom_key("title")
    assert not is_custom_key(SET_KEY.upper())
    assert not is_custom_key(SET_KEY[:-1])


def test_set_values_as_list_or_v1_comma_string_and_unknown_options() -> None:
    catalog = _catalog()
    assert catalog.decode({SET_KEY: [70, 71]}) == {"Competitors": ["Acme", "Globex"]}
    assert catalog.decode({SET_KEY: "70,72"}) == {"Competitors": ["Acme", "72"]}


def test_address_and_v1_top_level_keys() -> None:
    catalog = _catalog()
    raw = {"title": "x", ADDR_KEY: {"value": "1 Main St", "formatted_address": "1 Main St, Town"}}
    assert catalog.custom_of_v1(raw) == {"HQ": "1 Main St, Town"}


def test_pick_reads_the_usual_field_names_case_insensitively() -> None:
    custom = {"deal TYPE": "Upsell", "Cost": 12.5, "Lead source": "Referral", "Source": None}
    assert picks(custom, "deal") == {"deal_type": "Upsell", "cost": 12.5, "source": "Referral"}
    assert picks(custom, "organization") == {"source": "Referral"}
    assert picks({}, "deal") == {}


def test_monetary_values_split_into_amount_and_currency() -> None:
    key = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    catalog = FieldCatalog.from_metadata([{"key": key, "name": "Cost", "field_type": "monetary"}])
    assert catalog.decode({key: {"value": 3, "currency": "EUR"}}) == {
        "Cost": 3,
        "Cost currency": "EUR",
    }
    assert catalog.decode({key: 7}) == {"Cost": 7}  # v1: the amount alone
