"""The KPI catalogue of KPIS.md as data: one :class:`KpiDefinition` per GraphQL field.

Each description is the field's GraphQL description, so it states the definition and every
choice made where KPIS.md leaves room.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.metrics.dimensions import Dimension, DimensionRef
from core.metrics.formulas import Formula, Growth, Ratio, Single, Total
from core.metrics.types import KpiKind, Unit

FLOW, STOCK, COHORT = KpiKind.FLOW, KpiKind.STOCK, KpiKind.COHORT
_NO_LEADS = "no leads were created in the period"
_NO_WON = "no deals were won in the period"
_COHORT = (
    " The cohort is followed up to asOf (default now, never before the period's end); "
    "withinDays counts only conversions that many days after entering the cohort. A lead "
    "converts when its own converted deal is won, at that win's close time (a lead whose "
    "deal was lost has not converted); a contact when its lifecycle reaches customer, at "
    "its customer stage date."
)
_LEAD_ACTIVITIES = (
    " A lead's activities are those linked to it and, once it has converted, those linked "
    "to the contact it became (its own, else its converted deal's), done at or after its "
    "creation: CRMs move a converted lead's activities there. A held meeting is done at "
    "its start."
)
_STOCK = (
    " Open at an instant t: created before t, and still open or closed at or after t, so past "
    "dates are rebuilt from close times."
)


@dataclass(frozen=True)
class KpiDefinition:
    """A KPI: what it is (name, kind, unit, description) and how it is computed (formula).

    ``facts`` name where its inputs come from in each CRM (docs/kpis.md "Sources").
    ``percentile`` names the SUM measure whose per-row values give the MEDIAN and P90
    statistics; ``cohort_window`` enables the ``withinDays`` argument; ``breakdown`` is a
    breakdown every answer carries (per-stage KPIs).
    """

    name: str
    kind: KpiKind
    unit: Unit
    description: str
    formula: Formula
    percentile: str | None = None
    cohort_window: bool = False
    breakdown: DimensionRef | None = None
    #: The CRM facts it reads (keys of core.metrics.crm_sources.FACTS): the catalogue says,
    #: per CRM, which field gives each timestamp or link.
    facts: tuple[str, ...] = ()


def _k(
    name: str, kind: KpiKind, unit: Unit, description: str, formula: Formula, **extra: object
) -> KpiDefinition:
    return KpiDefinition(name, kind, unit, description, formula, **extra)  # type: ignore[arg-type]


BUILTIN_KPIS: tuple[KpiDefinition, ...] = (
    _k(
        "newLeads",
        FLOW,
        Unit.COUNT,
        "Leads created in the period: Salesforce and Pipedrive leads, and HubSpot contacts "
        "flagged as leads (at their lead date, else their creation).",
        Single("leads_created"),
    ),
    _k(
        "leadConversionRate",
        COHORT,
        Unit.RATIO,
        "Leads created in the period that converted by asOf ÷ leads created in the period."
        + _COHORT,
        Ratio("leads_converted", "leads_created", _NO_LEADS),
        cohort_window=True,
    ),
    _k(
        "mqlToCustomerRate",
        COHORT,
        Unit.RATIO,
        "Contacts and leads that became marketing-qualified in the period and became customers "
        "by asOf ÷ those MQLs." + _COHORT,
        Ratio("mqls_converted", "mqls", "nobody became an MQL in the period"),
        cohort_window=True,
    ),
    _k(
        "sqlToCustomerRate",
        COHORT,
        Unit.RATIO,
        "Contacts and leads that became sales-qualified in the period and became customers by "
        "asOf ÷ those SQLs." + _COHORT,
        Ratio("sqls_converted", "sqls", "nobody became an SQL in the period"),
        cohort_window=True,
    ),
    _k(
        "opportunitiesCreated",
        FLOW,
        Unit.COUNT,
        "Deals created in the period.",
        Single("deals_created"),
    ),
    _k(
        "proposalsSent",
        FLOW,
        Unit.COUNT,
        "Deals that entered a PROPOSAL-kind stage in the period for the first time (from stage "
        "history; a deal whose history is unknown does not count).",
        Single("proposals_sent"),
    ),
    _k(
        "dealsWon",
        FLOW,
        Unit.COUNT,
        "Deals won (closed as won) in the period.",
        Single("deals_won"),
    ),
    _k("dealsLost", FLOW, Unit.COUNT, "Deals lost in the period.", Single("deals_lost")),
    _k(
        "salesRevenue",
        FLOW,
        Unit.MONEY,
        "Sum of the amounts of deals won in the period, in the reporting currency at the rate "
        "of each deal's local close date; deals whose currency has no rate are left out and "
        "counted in missingFxCount.",
        Single("won_amount"),
    ),
    _k(
        "salesGrowthRate",
        FLOW,
        Unit.RATIO,
        "(salesRevenue - salesRevenue of the previous equal period) ÷ the latter. The previous "
        "equal period is the same number of months before when the period is whole months, "
        "otherwise the same number of days. Numerator: this period's revenue; denominator: "
        "the previous one's.",
        Growth("won_amount", "no revenue in the previous equal period"),
    ),
    _k(
        "winRate",
        FLOW,
        Unit.RATIO,
        "Deals won ÷ (won + lost), deals closed in the period.",
        Ratio("deals_won", "deals_closed", "no deals were closed in the period"),
    ),
    _k(
        "winLossRatio",
        FLOW,
        Unit.RATIO,
        "Deals won ÷ deals lost, deals closed in the period (15 won, 10 lost = 1.5).",
        Ratio("deals_won", "deals_lost", "no deals were lost in the period"),
    ),
    _k(
        "closeRate",
        FLOW,
        Unit.RATIO,
        "Deals won in the period ÷ deals open at any instant of the period (created before its "
        "end, and not closed, or closed after its start).",
        Ratio("deals_won", "deals_open_any", "no deals were open during the period"),
    ),
    _k(
        "leadCloseRatio",
        FLOW,
        Unit.RATIO,
        "Deals won in the period ÷ leads created in the period.",
        Ratio("deals_won", "leads_created", _NO_LEADS),
    ),
    _k(
        "averageDealSize",
        FLOW,
        Unit.MONEY,
        "salesRevenue ÷ dealsWon. Won deals left out of salesRevenue (no amount, or no FX rate) "
        "are left out of the count too, so the mean is not pulled down by them.",
        Ratio("won_amount", "won_amount.converted", _NO_WON),
    ),
    _k(
        "pipelineValue",
        STOCK,
        Unit.MONEY,
        "Sum of the amounts of deals open at the period's end, at the FX rate of the period's "
        "last local day." + _STOCK,
        Single("pipeline_amount"),
    ),
    _k(
        "weightedPipelineValue",
        STOCK,
        Unit.MONEY,
        "The same as pipelineValue, each amount times the probability of the stage the deal "
        "was in at the period's end (the last stage entered before it, from stage history; "
        "the current stage when history does not reach back)." + _STOCK,
        Single("weighted_pipeline_amount"),
    ),
    _k(
        "openDeals",
        STOCK,
        Unit.COUNT,
        "Deals open at the period's end." + _STOCK,
        Single("deals_open"),
    ),
    _k(
        "averageSalesCycleDays",
        FLOW,
        Unit.DAYS,
        "Mean fractional days from deal creation to win, deals won in the period; the "
        "statistic argument gives MEDIAN or P90 (linear interpolation) of the same values.",
        Ratio("cycle_days", "cycle_deals", _NO_WON),
        percentile="cycle_days",
    ),
    _k(
        "averageTimeToConvertDays",
        FLOW,
        Unit.DAYS,
        "Mean fractional days from lead creation to conversion (the converted deal's win), "
        "leads converted in the period; statistic gives MEDIAN or P90.",
        Ratio("convert_days", "leads_converted_in", "no leads converted in the period"),
        percentile="convert_days",
    ),
    _k(
        "stageDuration",
        FLOW,
        Unit.DAYS,
        "Mean fractional days spent in a stage, for stage exits in the period; the breakdown "
        "gives one value per stage (the stage left), the value is the mean over all stages.",
        Ratio("stay_days", "stage_exits", "no deal left a stage in the period"),
        percentile="stay_days",
        breakdown=DimensionRef(Dimension.STAGE),
    ),
    _k(
        "stageConversion",
        COHORT,
        Unit.RATIO,
        "Per stage of a pipeline (breakdown by stage; LOST stages left out): among deals "
        "created in the period, those that reached the stage (entered it or a later one, by "
        "display order) are the denominator, and those that went on to a later stage the "
        "numerator. The value is the same share over all stages together.",
        Ratio("stage_passed", "stage_reached", "no deal created in the period reached a stage"),
        breakdown=DimensionRef(Dimension.STAGE),
    ),
    _k(
        "averageProfitMargin",
        FLOW,
        Unit.RATIO,
        "(Won revenue - cost of those deals) ÷ won revenue, deals won in the period that have "
        "a cost, both converted at the close date's rate.",
        Ratio("margin_amount", "margin_revenue", "no deal won in the period has a cost"),
    ),
    _k(
        "activities",
        FLOW,
        Unit.COUNT,
        "Activities done in the period (break down by ACTIVITY_TYPE for calls, emails, "
        "meetings, notes and tasks). A held meeting is done at its start (its scheduled "
        "time), not when the CRM ends it or marks it done (unless marked done earlier).",
        Single("activities_done"),
    ),
    _k(
        "pendingFollowUps",
        STOCK,
        Unit.COUNT,
        "At the period's end: open activities due before it, plus open deals and open "
        "(unconverted) leads with no activity scheduled at or after it. A lead converted "
        "into a deal not won yet is still open, and the activities of the contact it became "
        "are its own (CRMs move them there).",
        Total(("activities_due_open", "deals_unscheduled", "leads_unscheduled")),
    ),
    _k(
        "leadFollowUpRate",
        COHORT,
        Unit.RATIO,
        "Leads created in the period with at least one done activity by asOf ÷ leads created "
        "in the period." + _LEAD_ACTIVITIES,
        Ratio("leads_followed_up", "leads_created", _NO_LEADS),
    ),
    _k(
        "averageResponseTimeHours",
        COHORT,
        Unit.HOURS,
        "Mean hours from lead creation to its first done activity (done by asOf), leads "
        "created in the period; activities done before the lead existed are not responses. "
        "statistic gives MEDIAN or P90." + _LEAD_ACTIVITIES,
        Ratio("response_hours", "responded_leads", "no lead created in the period got a response"),
        percentile="response_hours",
    ),
    _k(
        "meetingAcceptanceRate",
        FLOW,
        Unit.RATIO,
        "Meetings accepted or held ÷ meetings proposed (every meeting created), meetings "
        "created in the period.",
        Ratio("meetings_accepted", "meetings", "no meetings were created in the period"),
    ),
    _k(
        "positiveResponseRate",
        FLOW,
        Unit.RATIO,
        "Positive ÷ (positive + negative) classified responses, responses done in the period.",
        Ratio("responses_positive", "responses", "no classified responses in the period"),
    ),
)
