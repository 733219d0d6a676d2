"""The contract itself catches what it is there to catch (each case once broke or could
break a simulator unnoticed), and the simulator's own answers pass it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.contracts.salesforce.contract import Exchange, check, match, operations

DATA = "/services/data/v66.0"
OK = {"sforce-limit-info": "api-usage=1/15000", "content-type": "application/json"}
AUTH = {"authorization": "Bearer 00D!x"}


def _exchange(
    path: str, body: object, *, query: str = "", status: int = 200, method: str = "GET"
) -> Exchange:
    return Exchange(
        method, path, query, dict(AUTH), b"", status, dict(OK), json.dumps(body).encode()
    )


def test_every_collection_request_loads() -> None:
    names = {o.name for o in operations()}
    assert {"query", "query_all", "query_more", "describe", "get_deleted", "token"} <= names
    assert match("GET", f"{DATA}/query/01gDn0000000000001-2000").name == "query_more"  # type: ignore[union-attr]
    assert match("GET", f"{DATA}/query").name == "query"  # type: ignore[union-attr]
    assert match("GET", f"{DATA}/sobjects/Lead/deleted/").name == "get_deleted"  # type: ignore[union-attr]


def test_an_unfinished_child_batch_needs_its_next_records_url() -> None:
    child = {"totalSize": 5, "done": False, "records": []}
    row = {"attributes": {"type": "Opportunity"}, "Id": "006x", "OpportunityHistories": child}
    page = {"totalSize": 1, "done": True, "records": [row]}
    assert check(_exchange(f"{DATA}/query", page, query="q=SELECT+Id+FROM+Opportunity"))
    child["nextRecordsUrl"] = f"{DATA}/query/0r8x-2"
    assert not check(_exchange(f"{DATA}/query", page, query="q=SELECT+Id+FROM+Opportunity"))


def test_unknown_or_missing_parameters_are_caught() -> None:
    page = {"totalSize": 0, "done": True, "records": []}
    assert check(_exchange(f"{DATA}/query", page, query="q=x&limit=5"))
    assert check(_exchange(f"{DATA}/query", page))  # no q
    log = {"deletedRecords": [], "earliestDateAvailable": "x", "latestDateCovered": "y"}
    assert check(_exchange(f"{DATA}/sobjects/Lead/deleted/", log, query="start=a"))


def test_describe_types_are_the_documented_ones() -> None:
    field = {
        "name": "StageName",
        "label": "Stage",
        "type": "picklist",
        "nillable": False,
        "custom": False,
        "filterable": True,
        "soapType": "xsd:string",
        "picklistValues": [],
        "referenceTo": [],
    }
    described = {
        "name": "Opportunity",
        "fields": [field],
        "childRelationships": [],
        "queryable": True,
        "urls": {},
    }
    assert check(_exchange(f"{DATA}/sobjects/Opportunity/describe", described))  # no values
    field["picklistValues"] = [
        {"active": True, "defaultValue": False, "label": "Won", "value": "Closed Won"}
    ]
    assert not check(_exchange(f"{DATA}/sobjects/Opportunity/describe", described))
    field["type"] = "guessed"
    assert check(_exchange(f"{DATA}/sobjects/Opportunity/describe", described))


def test_errors_must_be_salesforce_error_arrays() -> None:
    text = Exchange("GET", f"{DATA}/nothing", "", {}, b"", 404, {}, b"Not Found")
    assert check(text)
    proper = [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]
    assert not check(_exchange(f"{DATA}/nothing", proper, status=404))
    neutral = _exchange(f"{DATA}/query", {"error": "injected fault"}, query="q=x", status=503)
    assert check(neutral)


def test_token_requests_follow_the_collection() -> None:
    form = b"grant_type=refresh_token&client_id=a&client_secret=b&refresh_token=c"
    body = {
        "access_token": "00D!x",
        "instance_url": "https://x.my.salesforce.com",
        "id": "https://login.salesforce.com/id/00Dx/005x",
        "token_type": "Bearer",
        "issued_at": "1",
        "signature": "s",
    }
    good = Exchange(
        "POST", "/services/oauth2/token", "", {}, form, 200, {}, json.dumps(body).encode()
    )
    assert not check(good)
    odd = Exchange(
        "POST", "/services/oauth2/token", "", {}, form + b"&scope=api", 200, {}, good.response
    )
    assert check(odd)


def test_respx_fixtures_are_documented_payloads() -> None:
    """The recorded payloads the respx tests use pass the contract as answers of the route
    they stand for: the query results as /query pages, the describe as an sObject
    describe (all its fields' documented attributes, not only those the connector reads)."""
    root = Path(__file__).resolve().parents[2] / "fixtures" / "salesforce"
    names = sorted(p.stem for p in root.glob("*.json"))
    assert len(names) == 16
    for name in names:
        payload = json.loads((root / f"{name}.json").read_text())
        if name.startswith("describe_"):
            sobject = payload["name"]
            exchange = _exchange(f"{DATA}/sobjects/{sobject}/describe", payload)
        else:
            exchange = _exchange(f"{DATA}/query", payload, query="q=SELECT+Id+FROM+Account")
        assert check(exchange) == [], name
