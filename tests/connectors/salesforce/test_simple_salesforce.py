"""The simulated org driven by ``simple-salesforce``, the most-used Python client nobody here
wrote (issue #23): OAuth refresh (its token parsing, rotated tokens), describe, query /
queryMore / queryAll, getDeleted and Bulk API 2.0 query jobs, every exchange checked
against the API contract as well.

simple-salesforce builds ``https://`` URLs; a transport adapter sends them to the
simulator's plain HTTP socket unchanged otherwise.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import token_login

from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator, create_simulator
from tests.contracts.salesforce.contract import match
from tests.contracts.traffic import TRAFFIC
from tests.support.server import serve


class _PlainHttp(HTTPAdapter):
    """Sends the client's https:// requests to the local simulator over http://."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.url is not None
        request.url = "http://" + request.url.removeprefix("https://")
        return super().send(request, **kwargs)


@pytest.fixture(scope="module")
def org() -> Iterator[tuple[SalesforceSimulator, int, str]]:
    """The org served for the module, and where its traffic starts in the suite's log."""
    sim = create_simulator(
        seed=13, deals=450, batch_size=200, deletions=True, rotate_refresh_tokens=True
    )
    with serve(sim.app) as url:
        yield sim, len(TRAFFIC.exchanges), url.removeprefix("http://")


@pytest.fixture(scope="module")
def session() -> requests.Session:
    session = requests.Session()
    session.mount("https://", _PlainHttp())
    return session


@pytest.fixture(scope="module")
def sf(org: tuple[SalesforceSimulator, int, str], session: requests.Session) -> Salesforce:
    _, _, host = org
    form = {"grant_type": "refresh_token", **CREDENTIALS}
    token, instance = token_login(
        f"https://{host}/services/oauth2/token",
        form,
        "login",
        CREDENTIALS["client_id"],
        None,
        None,
        session,
    )
    # the refresh token rotated: the one just used is dead
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid_grant"):
        token_login(
            f"https://{host}/services/oauth2/token",
            form,
            "login",
            CREDENTIALS["client_id"],
            None,
            None,
            session,
        )
    return Salesforce(instance=instance, session_id=token, version="66.0", session=session)


def test_describe_global_and_an_object(sf: Salesforce, org: Any) -> None:
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {"Opportunity", "Lead", "OpportunityHistory"} <= names
    stage = next(f for f in sf.Opportunity.describe()["fields"] if f["name"] == "StageName")
    assert stage["type"] == "picklist" and stage["picklistValues"]


def test_query_query_more_and_query_all(sf: Salesforce, org: Any) -> None:
    sim, _, _ = org
    first = sf.query("SELECT Id, Name FROM Opportunity ORDER BY Id")
    assert first["done"] is False and first["nextRecordsUrl"]
    more = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert more["records"][0]["Id"] > first["records"][-1]["Id"]
    live = sf.query_all("SELECT Id FROM Opportunity")["records"]
    assert len(live) == sum(1 for d in sim.data.deals if d.deleted_at is None)
    every = sf.query_all("SELECT Id FROM Opportunity", include_deleted=True)["records"]
    assert len(every) == len(sim.data.deals) > len(live)


def test_get_deleted(sf: Salesforce, org: Any) -> None:
    sim, _, _ = org
    now = datetime.now(UTC)
    listed = sf.Opportunity.deleted(now - timedelta(days=10), now)
    gone = {r["id"] for r in listed["deletedRecords"]}
    assert gone == {f"006Dn{d.id:013d}" for d in sim.data.deals if d.deleted_at is not None}


def test_bulk_2_query_job(sf: Salesforce, org: Any) -> None:
    sim, _, _ = org
    pages = list(sf.bulk2.Account.query("SELECT Id, Name FROM Account", max_records=30, wait=0))
    rows = [row for page in pages for row in csv.DictReader(io.StringIO(str(page)))]
    assert len(pages) > 1
    assert len(rows) == sum(1 for a in sim.data.accounts if a.deleted_at is None)


def test_every_operation_was_exercised(sf: Salesforce, org: Any) -> None:
    _, start, _ = org
    sf.query("SELECT Id FROM Account LIMIT 1")
    seen = set()
    for crm, method, path in TRAFFIC.exchanges[start:]:
        operation = match(method, path) if crm == "salesforce" else None
        if operation is not None:
            seen.add(operation.name)
    assert {"token", "describe_global", "describe", "query", "get_deleted"} <= seen
