"""Account variants of the simulated org: what a minimal, a standard and a full org offer.

Real orgs differ in what the API user can reach: single-currency orgs have no
``CurrencyIsoCode`` and no ``CurrencyType``; ``DatedConversionRate`` needs Advanced Currency
Management; record types and sales processes are optional; ``LeadHistory`` exists only with
field history tracking on Lead; Bulk API may be off; a profile without "View Setup" cannot
read ``UserRole``, and one without access to notes cannot read ``Note``; field-level
security hides fields from the describe and from SOQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class OrgFeatures:
    """What one simulated org offers its API user."""

    multi_currency: bool = True
    #: Advanced Currency Management: ``DatedConversionRate`` exists.
    dated_rates: bool = True
    #: Opportunity record types, one per sales process (several pipelines).
    record_types: bool = False
    #: Field history tracking on Lead: ``LeadHistory`` and the ``Histories`` relationship.
    lead_history: bool = True
    bulk_api: bool = True
    #: The API user may read ``UserRole`` (a profile with "View Setup and Configuration").
    user_roles: bool = True
    notes: bool = True
    #: The org's default time zone (``Organization.TimeZoneSidKey``): its users' calendar,
    #: in which a task's due date (``Task.ActivityDate``, a date) is rendered.
    timezone: str = "UTC"
    #: (object, field) pairs field-level security hides from the API user.
    hidden: frozenset[tuple[str, str]] = frozenset()


#: The account variants of ``crmkpi simulate salesforce --account``.
ACCOUNTS: dict[str, OrgFeatures] = {
    "minimal": OrgFeatures(
        multi_currency=False,
        dated_rates=False,
        record_types=False,
        lead_history=False,
        bulk_api=False,
        user_roles=False,
        notes=False,
        hidden=frozenset({("Account", "AccountSource"), ("Opportunity", "ForecastCategoryName")}),
    ),
    "standard": OrgFeatures(dated_rates=False),
    "full": OrgFeatures(record_types=True),
}


def features(account: str | None = None, **overrides: Any) -> OrgFeatures:
    """The org of ``account`` (today's default org when None) with ``overrides`` applied."""
    if account is None:
        base = OrgFeatures()
    else:
        try:
            base = ACCOUNTS[str(account).lower()]
        except KeyError as exc:
            raise ValueError(f"unknown account {account!r}: {', '.join(ACCOUNTS)}") from exc
    known = {k: v for k, v in overrides.items() if v is not None}
    return replace(base, **known)
