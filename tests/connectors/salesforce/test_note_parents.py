"""A Note has no AccountId: a note on a contact or an opportunity gets its parent's account,
looked up per page (connectors.salesforce.parents), or read from a TYPEOF answer."""

from __future__ import annotations

import httpx
import pytest
import respx

from connectors.salesforce import activities, objects, parents
from tests.connectors.salesforce.conftest import load_fixture
from tests.connectors.salesforce.test_streams import DATA, ctx, drain, soql_of

NOTE_FIELDS = ("Id", "Title", "ParentId", "OwnerId", "CreatedDate", "SystemModstamp")
#: The parents' accounts, as the org answers ``SELECT Id, AccountId ... WHERE Id IN (...)``.
PARENTS = {
    "Contact": [{"Id": "003RO00000Pq8rSYAR", "AccountId": "001RO00000Xy7zQYAR"}],
    "Opportunity": [{"Id": "006RO00000Ab1cDYAR", "AccountId": "001RO00000Xy7zRYAR"}],
}


def _answer(request: httpx.Request) -> httpx.Response:
    query = soql_of(request)
    for sobject, rows in PARENTS.items():
        if f" FROM {sobject} " in query:
            records = [{"attributes": {"type": sobject}, **row} for row in rows]
            return httpx.Response(200, json={"totalSize": 1, "done": True, "records": records})
    return httpx.Response(200, json=load_fixture("notes.json"))


@respx.mock
async def test_notes_take_the_account_of_their_contact_or_opportunity() -> None:
    respx.get(f"{DATA}/sobjects/Note/describe").respond(
        json={"fields": [{"name": n} for n in NOTE_FIELDS], "childRelationships": []}
    )
    query = respx.get(f"{DATA}/query").mock(side_effect=_answer)
    records = await drain(objects.NotesStream(), ctx())
    accounts = {r.subject: r.account_remote_id for r in records}
    assert accounts == {
        "Call recap": "001RO00000Xy7zQYAR",  # its contact's
        "Pricing questions": "001RO00000Xy7zRYAR",  # its opportunity's
        "Renewal plan": "001RO00000Xy7zRYAR",  # on the account itself
        "Web form follow-up": None,  # a lead has no account
        "Second call": "001RO00000Xy7zQYAR",
    }
    links = {r.subject: (r.contact_remote_id, r.deal_remote_id, r.lead_remote_id) for r in records}
    assert links["Call recap"] == ("003RO00000Pq8rSYAR", None, None)
    assert links["Pricing questions"] == (None, "006RO00000Ab1cDYAR", None)
    assert links["Web form follow-up"] == (None, None, "00QRO00000Lx1aCYAR")
    lookups = [q for call in query.calls if "AccountId" in (q := soql_of(call.request))]
    # One look-up per object, each parent once; no look-up of accounts or leads.
    assert sorted(lookups) == [
        "SELECT Id, AccountId FROM Contact WHERE Id IN ('003RO00000Pq8rSYAR')",
        "SELECT Id, AccountId FROM Opportunity WHERE Id IN ('006RO00000Ab1cDYAR')",
    ]


@respx.mock
async def test_a_deleted_parent_gives_no_account_and_long_pages_are_looked_up_in_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("connectors.salesforce.settings.PARENT_LOOKUP_IDS", 2)
    notes = [
        {"Id": f"002X{i}", "ParentId": f"003X{i}", "CreatedDate": "2026-10-05T10:00:00.000+0000"}
        for i in range(5)
    ]
    respx.get(f"{DATA}/sobjects/Note/describe").respond(
        json={"fields": [{"name": n} for n in NOTE_FIELDS], "childRelationships": []}
    )

    def answer(request: httpx.Request) -> httpx.Response:
        query = soql_of(request)
        if "FROM Contact" not in query:
            return httpx.Response(200, json={"totalSize": 5, "done": True, "records": notes})
        # 003X3 was deleted (its notes with it, soon): the org no longer returns it.
        ids = [i for i in (f"003X{n}" for n in range(5)) if f"'{i}'" in query and i != "003X3"]
        rows = [{"Id": i, "AccountId": f"001{i[3:]}"} for i in ids]
        return httpx.Response(200, json={"totalSize": len(rows), "done": True, "records": rows})

    query = respx.get(f"{DATA}/query").mock(side_effect=answer)
    records = await drain(objects.NotesStream(), ctx())
    assert [r.account_remote_id for r in records] == ["001X0", "001X1", "001X2", None, "001X4"]
    lookups = [q for call in query.calls if "FROM Contact" in (q := soql_of(call.request))]
    assert len(lookups) == 3  # 5 parents, 2 at a time
    assert lookups[-1] == "SELECT Id, AccountId FROM Contact WHERE Id IN ('003X4')"


def test_a_typeof_answer_gives_the_parent_account_too() -> None:
    """``TYPEOF Parent WHEN Contact THEN AccountId END`` rows carry it already."""
    raw = {
        "Id": "002RO00000Nt1aAYAR",
        "ParentId": "003RO00000Pq8rSYAR",
        "CreatedDate": "2026-10-05T10:00:00.000+0000",
        "Parent": {"attributes": {"type": "Contact"}, "AccountId": "001RO00000Xy7zQYAR"},
    }
    assert activities.map_note(raw).account_remote_id == "001RO00000Xy7zQYAR"
    assert activities.map_note({**raw, "Parent": None}).account_remote_id is None


def test_the_parents_of_a_bulk_sized_page_are_collected_once_each_in_order() -> None:
    """20,000 notes on contacts, opportunities, accounts and leads, each parent named
    by several notes: each contact and opportunity once, in the order first named."""
    notes = [
        {"Id": f"002N{i}", "ParentId": f"{prefix}P{i % 12_500}"}
        for i in range(20_000)
        for prefix in (("003", "006", "001", "00Q")[i % 4],)
    ]
    wanted = parents._wanted(notes)
    assert set(wanted) == {"Contact", "Opportunity"}
    contacts = wanted["Contact"]
    assert len(contacts) == len(set(contacts)) == 3_125  # i % 4 == 0: every 4th of 12,500
    assert contacts[:3] == ["003P0", "003P4", "003P8"]
    assert wanted["Opportunity"][:2] == ["006P1", "006P5"]
    # a note already carrying its parent (a TYPEOF answer) needs no look-up
    typed = [{"Id": "002T", "ParentId": "003P0", "Parent": {"AccountId": "001A"}}]
    assert parents._wanted(typed) == {}
