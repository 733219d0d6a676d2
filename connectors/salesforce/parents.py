"""The account of a Note's parent: a Note has no ``AccountId``, only ``ParentId``.

``Note.ParentId`` is polymorphic (Account, Contact, Opportunity, Lead, Asset, Contract,
custom objects...). A note on an account names it; a note on a contact or an opportunity
belongs to that record's account (``Contact.AccountId``, ``Opportunity.AccountId``), which
customer KPIs need (a customer contacted through a note on its deal is contacted).

SOQL could select it with ``TYPEOF Parent WHEN Contact THEN AccountId ...`` (API 46.0+), but
Bulk API 2.0 query jobs refuse TYPEOF, and the same query serves REST pages and bulk jobs
(connectors.salesforce.bulk_read). So each page of notes looks its parents up instead: one
``SELECT Id, AccountId FROM <object> WHERE Id IN (...)`` per object and
``settings.PARENT_LOOKUP_IDS`` parents. The answer is written into the row in the shape a
TYPEOF query returns (``"Parent": {"attributes": {"type": "Contact"}, "AccountId":
"001..."}``), so the mapping (``activities.map_note``) reads either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.salesforce import settings, soql, values
from connectors.salesforce.state import run_state
from core.sync.connector import HttpClient, Request, StreamContext


def _wanted(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """sObject -> ids of the parents whose account the rows need, each once, in the order
    first named. Kept as dict keys while collecting: a list's ``in`` made a page cost its
    notes x its distinct parents comparisons (a Bulk API page of 50,000 notes on as many
    parents: 2.0 s of CPU, 0.04 s now)."""
    wanted: dict[str, dict[str, None]] = {}
    for row in rows:
        parent = values.text(row.get("ParentId"))
        if parent is None or isinstance(row.get("Parent"), Mapping):
            continue
        sobject = settings.PARENTS_WITH_ACCOUNT.get(parent[:3])
        if sobject is not None:
            wanted.setdefault(sobject, {})[parent] = None
    return {sobject: list(ids) for sobject, ids in wanted.items()}


async def _accounts_of(
    http: HttpClient, ctx: StreamContext, sobject: str, ids: Sequence[str]
) -> dict[str, str | None]:
    """Parent id -> its AccountId, for the ids of one object that still exist."""
    found: dict[str, str | None] = {}
    api = run_state(ctx).api
    for start in range(0, len(ids), settings.PARENT_LOOKUP_IDS):
        chunk = ids[start : start + settings.PARENT_LOOKUP_IDS]
        listed = ", ".join(soql.literal(i) for i in chunk)
        text = soql.select(sobject, ("Id", "AccountId"), where=[f"Id IN ({listed})"])
        request: Request | None = Request(path=api.data("/query"), params={"q": text})
        while request is not None:
            body = await http.send(request)
            for row in body.get("records") or () if isinstance(body, Mapping) else ():
                if row.get("Id"):
                    found[str(row["Id"])] = values.text(row.get("AccountId"))
            locator = body.get("nextRecordsUrl") if isinstance(body, Mapping) else None
            request = Request(path=str(locator)) if locator else None
    return found


async def add_parent_accounts(
    http: HttpClient, ctx: StreamContext, rows: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The rows, each note on a contact or opportunity with its parent's account
    (``Parent``); a parent that no longer exists (deleted with its notes) gives none."""
    found: dict[str, tuple[str, str | None]] = {}
    for sobject, ids in _wanted(rows).items():
        accounts = await _accounts_of(http, ctx, sobject, ids)
        found.update({i: (sobject, account) for i, account in accounts.items()})
    out: list[Mapping[str, Any]] = []
    for row in rows:
        parent = found.get(values.text(row.get("ParentId")) or "")
        if parent is None:
            out.append(row)
        else:
            sobject, account = parent
            out.append({**row, "Parent": {"attributes": {"type": sobject}, "AccountId": account}})
    return out
