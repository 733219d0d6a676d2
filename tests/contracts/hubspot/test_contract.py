"""HubSpot's contract check catches what it is there to catch (tests/contracts/traffic.py
applies it to every HubSpot simulator exchange of the suite)."""

from __future__ import annotations

import json

from tests.contracts.exchange import Exchange
from tests.contracts.hubspot.contract import check

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
