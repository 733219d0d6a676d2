"""Customer lifecycle and recurring-revenue KPIs of KPIS.md, as data (see customers.py).

The descriptions are the GraphQL descriptions; they state the choices made where KPIS.md
leaves room (which day a customer is lost on, what a period in progress reads).
"""

from __future__ import annotations

from core.metrics.definitions import KpiDefinition
from core.metrics.formulas import (
    Decline,
    Difference,
    Incremental,
    LifetimeValue,
    Ratio,
    RatioWithMean,
    Single,
)
from core.metrics.marketing import NetReturn
from core.metrics.types import KpiKind, Unit

FLOW, STOCK = KpiKind.FLOW, KpiKind.STOCK
_LIFECYCLE = (
    " Lifecycle on the workspace's local dates: an account (or, without one, a contact) is "
    "active on a day when a won deal closed within the previous inactivityDays (default 365) "
    "or a won deal's recurring contract covers it; it becomes a customer on the first day of "
    "an active stretch and is lost on the first day after the stretch. For a period in "
    "progress, stocks and losses are read at asOf (default now)."
)
_NO_START = "no customers were active at the period's start"


def _k(name: str, kind: KpiKind, unit: Unit, description: str, formula: object) -> KpiDefinition:
    return KpiDefinition(name, kind, unit, description, formula)  # type: ignore[arg-type]


CUSTOMER_KPIS: tuple[KpiDefinition, ...] = (
    _k(
        "newCustomers",
        FLOW,
        Unit.COUNT,
        "Accounts that became customers in the period (their first win, or their first win "
        "after being lost)." + _LIFECYCLE,
        Single("customers_new"),
    ),
    _k(
        "activeCustomers",
        STOCK,
        Unit.COUNT,
        "Customers active on the period's last day." + _LIFECYCLE,
        Single("customers_active_end"),
    ),
    _k(
        "customerChurnRate",
        FLOW,
        Unit.RATIO,
        "Customers lost in the period ÷ customers active at its start (on the day before its "
        "first day)." + _LIFECYCLE,
        Ratio("customers_lost", "customers_active_start", _NO_START),
    ),
    _k(
        "netCustomerChurnRate",
        FLOW,
        Unit.RATIO,
        "(Customers active at the period's start - active at its end) ÷ active at its start; "
        "negative when the base grew." + _LIFECYCLE,
        Decline("customers_active_start", "customers_active_end", _NO_START),
    ),
    _k(
        "customerRetentionRate",
        FLOW,
        Unit.RATIO,
        "Customers active at the period's start (the day before its first day) and active at "
        "its end (its last day), whether or not they were lost and won back in between ÷ "
        "customers active at its start." + _LIFECYCLE,
        Ratio("customers_retained", "customers_active_start", _NO_START),
    ),
    _k(
        "averageCustomerLifetimeDays",
        FLOW,
        Unit.DAYS,
        "Mean days from becoming a customer to being lost, customers lost in the period."
        + _LIFECYCLE,
        Ratio("customer_lifetime_days", "customers_lost", "no customers were lost in the period"),
    ),
    _k(
        "arpa",
        FLOW,
        Unit.MONEY,
        "Average revenue per account: salesRevenue ÷ distinct accounts active on some day of "
        "the period (an account lost and won back in the period counts once)." + _LIFECYCLE,
        Ratio("won_amount", "customers_active_any", "no customers were active in the period"),
    ),
    _k(
        "customerLifetimeValue",
        FLOW,
        Unit.MONEY,
        "Revenue per active customer per year (salesRevenue ÷ distinct accounts active in the "
        "period, "
        "scaled to 365 days) times mean lifetime in years of the customers lost in the period."
        + _LIFECYCLE,
        LifetimeValue(
            "won_amount", "customers_active_any", "customer_lifetime_days", "customers_lost"
        ),
    ),
    _k(
        "averageCustomerValue",
        FLOW,
        Unit.MONEY,
        "salesRevenue ÷ distinct customers (accounts, or contacts for deals without one) with "
        "a deal won in the period.",
        Ratio("won_amount", "customers_with_win", "no customer won a deal in the period"),
    ),
    _k(
        "referralCustomers",
        FLOW,
        Unit.COUNT,
        "New customers in the period whose first deal of the stretch has a referral source "
        "(a source containing 'referr', any case)." + _LIFECYCLE,
        Single("customers_referred"),
    ),
    _k(
        "inactiveCustomers",
        STOCK,
        Unit.COUNT,
        "At the period's end: accounts that were ever customers and are no longer active, or "
        "active with no done activity (linked to the account, or the contact of a contact "
        "customer) in the last noContactDays (workspace setting, default 90)." + _LIFECYCLE,
        Difference("customers_ever", "customers_contacted"),
    ),
    _k(
        "existingCustomerEngagement",
        FLOW,
        Unit.RATIO,
        "Share of the customers active at the period's start with at least one done activity "
        "(linked to the account, or the contact of a contact customer) in the period." + _LIFECYCLE,
        Ratio("customers_engaged", "customers_active_start", _NO_START),
    ),
    _k(
        "upsellCrossSellRate",
        FLOW,
        Unit.RATIO,
        "Won deals of type UPSELL or CROSS_SELL in the period ÷ customers active at its start."
        + _LIFECYCLE,
        Ratio("deals_upsold", "customers_active_start", _NO_START),
    ),
    _k(
        "expansionRevenue",
        FLOW,
        Unit.MONEY,
        "Won amount of UPSELL, CROSS_SELL and UPGRADE deals in the period, at the close date's "
        "FX rate, of existing customers only: the deal's account (or contact, without one) was "
        "an active customer on the local day before the deal's local close date, so a deal "
        "that makes its account a customer never counts, whatever its type." + _LIFECYCLE,
        Single("expansion_amount"),
    ),
    _k(
        "mrr",
        STOCK,
        Unit.MONEY,
        "Sum of the monthly recurring amounts of won deals whose contract covers the period's "
        "last local day (from contract start, or the close time without one, to contract end "
        "inclusive, or open-ended), at that day's FX rate.",
        Single("mrr_amount"),
    ),
)

_NO_NEW = "no new customers in the period"
_NO_SPEND = "no spend was imported for the period"
_SPEND = (
    " Spend is imported (crmkpi import spend) per local day and converted at that day's FX "
    "rate; segment by sources to read one channel."
)

MARKETING_KPIS: tuple[KpiDefinition, ...] = (
    _k(
        "customerAcquisitionCost",
        FLOW,
        Unit.MONEY,
        "Sales + marketing spend in the period ÷ new customers in the period." + _SPEND,
        Ratio("spend", "customers_new", _NO_NEW),
    ),
    _k(
        "costPerAcquisition",
        FLOW,
        Unit.MONEY,
        "Marketing spend in the period ÷ new customers in the period." + _SPEND,
        Ratio("marketing_spend", "customers_new", _NO_NEW),
    ),
    _k(
        "costPerLead",
        FLOW,
        Unit.MONEY,
        "Marketing spend in the period ÷ leads created in the period." + _SPEND,
        Ratio("marketing_spend", "leads_created", "no leads were created in the period"),
    ),
    _k(
        "roi",
        FLOW,
        Unit.RATIO,
        "(salesRevenue - sales and marketing spend) ÷ that spend, in the period." + _SPEND,
        NetReturn("won_amount", "spend", _NO_SPEND),
    ),
    _k(
        "incrementalRevenue",
        FLOW,
        Unit.MONEY,
        "salesRevenue - the mean salesRevenue of the baselinePeriods (default 3, at most "
        "36) previous equal periods - marketing spend in the period. Numerator: revenue "
        "above that baseline; denominator: the baseline." + _SPEND,
        Incremental("won_amount", "marketing_spend"),
    ),
    _k(
        "visitorToLeadRate",
        FLOW,
        Unit.RATIO,
        "Leads created in the period ÷ website visitors in the period (imported with crmkpi "
        "import visitors, per local day and channel).",
        Ratio("leads_created", "visitors", "no visitors were imported for the period"),
    ),
    _k(
        "nps",
        FLOW,
        Unit.SCORE,
        "Net Promoter Score of the NPS responses in the period: % promoters (9-10) - % "
        "detractors (0-6), from -100 to 100. Numerator: promoters x 100 - detractors x 100; "
        "denominator: responses.",
        Ratio("nps_points", "nps_responses", "no NPS responses in the period"),
    ),
    _k(
        "csat",
        FLOW,
        Unit.RATIO,
        "Share of the CSAT responses in the period scoring 4 or 5 (of 1-5); the mean score "
        '(1-5) of the same responses is extra { name: "meanScore" value }.',
        RatioWithMean(
            Ratio("csat_satisfied", "csat_responses", "no CSAT responses in the period"),
            "csat_score",
            "meanScore",
        ),
    ),
)
