"""HubSpot's contract check catches what it is there to catch (tests/contracts/traffic.py
applies it to every HubSpot simulator exchange of the suite)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.contracts.exchange import Exchange
from tests.contracts.hubspot.contract import check, problems

JSON = {"content-type": "application/json"}
PAGE = {"results": []}


def _get(path: str, query: str, body: object = PAGE, status: int = 200) -> list[str]:
    answer = json.dumps(body).encode()
    return check(Exchange("GET", path, query, {}, b"", status, dict(JSON), answer))


def test_documented_list_parameters_pass_and_misspelt_ones_do_not() -> None:
    documented = "limit=100&after=5&properties=dealname&associations=companies&archived=false"
    assert _get("/crm/v3/objects/deals", documented) == []
    assert _get("/crm/v3/objects/deals", "propertys=dealname") == [
        "undocumented query parameter 'propertys'"
    ]
    assert _get("/crm/v3/owners", "limit=500&email=a@b.c") == []
    assert _get("/crm/v3/pipelines/deals", "archived=true", {"results": []})


def test_limits_and_booleans_are_the_documented_ones() -> None:
    assert _get("/crm/v3/objects/deals", "limit=101")
    assert _get("/crm/v3/objects/deals", "limit=50&propertiesWithHistory=dealstage") == []
    assert _get("/crm/v3/objects/deals", "limit=51&propertiesWithHistory=dealstage")
    assert _get("/crm/v3/objects/deals", "archived=yes")


def test_errors_need_hubspots_error_fields_and_json() -> None:
    refused = {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"}
    token = Exchange("POST", "/oauth/v1/token", "", {}, b"", 400, dict(JSON), b"")
    token.response = json.dumps(refused).encode()
    assert any("category" in p for p in check(token))
    text = Exchange("GET", "/crm/v3/nothing", "", {}, b"", 404, {"content-type": "text/plain"})
    assert check(text) == ["answered text/plain, not JSON"]


#: Fixture -> (the answer schema it is, how to read it as one) of the respx payloads in
#: tests/fixtures/hubspot: each is one answer of a documented route.
FIXTURES = {
    "associations_deals_companies": "AssociationsBatch",
    "companies": "ListPage",
    "contacts": "ListPage",
    "deal_with_history": "Object",  # one record of a list with propertiesWithHistory
    "deals": "ListPage",
    "engagements": "ListPage",  # five list pages (calls, emails, ...) in one file
    "error_429": "RateLimitError",
    "error_leads_not_found": "Error",
    "error_missing_scopes": "Error",
    "error_unknown_object_type": "Error",
    "exchange_rates": "ExchangeRatesPage",
    "leads": "ListPage",
    "owners": "OwnersPage",
    "owners_archived": "OwnersPage",
    "pipelines": "Pipelines",
    "search_deals": "SearchPage",
}
#: Fixtures that break the documented shape on purpose, each with what the schema then
#: says: the connector must survive (or quarantine) what real accounts send. Nothing else
#: may differ from the documentation.
OTHER_READING = {
    # a company whose createdate is garbage and that has no top-level times to fall back
    # on: quarantined by the mapping tests
    "companies": ['"createdAt" is a required property', '"updatedAt" is a required property'],
    # a rate sent as a string and a lower-case currency code: the mapping normalises both
    # (test_mapping.test_exchange_rates_to_the_company_currency); an undated rate
    "exchange_rates": [
        '"0.055" is not of type "number"',
        '"mxn" does not match',
        '"effectiveAt" is a required property',
    ],
    # a QUEUE owner: no person name and no user id (the spec types them as non-null)
    "owners": ['null is not of type "string"', 'null is not of type "integer"'],
    # a team entry without its primary flag (older answers): the first team is primary
    "owners_archived": ['"primary" is a required property'],
}


def _fixture_problems(name: str, schema: str) -> list[str]:
    root = Path(__file__).resolve().parents[2] / "fixtures" / "hubspot"
    payload = json.loads((root / f"{name}.json").read_text())
    if name == "engagements":
        return [p for page in payload.values() for p in problems(schema, {"results": page})]
    return problems(schema, payload)


def test_respx_fixtures_are_documented_payloads() -> None:
    """The recorded payloads the respx tests use match the documented shapes, but for the
    points OTHER_READING names (each of which must still be there: a fixture fixed
    since, or a rule no longer checked, shows here too)."""
    root = Path(__file__).resolve().parents[2] / "fixtures" / "hubspot"
    assert {p.stem for p in root.glob("*.json")} == set(FIXTURES)
    for name, schema in FIXTURES.items():
        found = _fixture_problems(name, schema)
        expected = OTHER_READING.get(name, [])
        assert [p for p in found if not any(e in p for e in expected)] == [], name
        assert all(any(e in p for p in found) for e in expected), (name, found)
