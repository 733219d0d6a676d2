"""Account variants of the simulated portal, and the archived records every portal has.

- ``full``: every object and feature (Leads object, multi-currency);
- ``standard``: the Leads object exists but the app was not granted its scope: reads of
  leads answer 403 ``MISSING_SCOPES``; multi-currency on;
- ``minimal`` (most portals: Leads needs Sales Hub Pro): no Leads object (reads of leads
  404 ``OBJECT_NOT_FOUND``, v4 association reads naming leads 400) and one currency, the
  company's (no exchange rates; ``deal_currency_code`` left empty).

Every portal also holds archived records (deleted in HubSpot, kept 90 days): a few per
object type, listed only by ``archived=true``.
"""

from __future__ import annotations

import copy
from typing import Any

from connectors.hubspot.simulator.render import Rendered

FULL, STANDARD, MINIMAL = "full", "standard", "minimal"
ACCOUNTS = (MINIMAL, STANDARD, FULL)
#: Archived records added to each object type of every portal.
ARCHIVED_PER_TYPE = 2
#: Ids of the added archived records start here (well past the dataset's ids).
ARCHIVED_ID_BASE = 900_000_000


def has_leads(account: str) -> bool:
    return account != MINIMAL


def leads_readable(account: str) -> bool:
    return account == FULL


def multi_currency(account: str) -> bool:
    return account != MINIMAL


def shape(objects: dict[str, list[Rendered]], account: str) -> None:
    """Fit the rendered portal to ``account`` (in place), then add its archived records."""
    if account not in ACCOUNTS:
        raise ValueError(f"unknown account variant {account!r} (one of {', '.join(ACCOUNTS)})")
    if not has_leads(account):
        objects.pop("leads", None)
        for items in objects.values():
            for record in items:
                record.associations.pop("leads", None)
    if not multi_currency(account):
        for record in objects.get("deals", ()):
            record.body["properties"]["deal_currency_code"] = None
    for offset, (name, items) in enumerate(sorted(objects.items())):
        items.extend(_archived(name, items, ARCHIVED_ID_BASE + offset * 1000))


def _archived(name: str, items: list[Rendered], base: int) -> list[Rendered]:
    """Copies of the first live records, archived a day after their last change."""
    out = []
    for index, source in enumerate([r for r in items if not r.archived][:ARCHIVED_PER_TYPE]):
        new_id = base + index
        body: dict[str, Any] = copy.deepcopy(source.body)
        body["id"] = str(new_id)
        body["properties"]["hs_object_id"] = str(new_id)
        body["archived"] = True
        body["archivedAt"] = body["updatedAt"]
        out.append(Rendered(new_id, body, {}, archived=True))
    return out
