"""User-defined KPIs: declarations compile to measures the executor answers (both databases),
and every mistake is refused with an error saying where it is."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import ValidationError
from core.metrics import (
    Dimension,
    DimensionRef,
    KpiRequest,
    MetricsExecutor,
    PeriodSpec,
    Scope,
    Segment,
    Unit,
)
from core.metrics.user_kpis import compile_user_kpi
from tests.core.metrics.factory import REGISTRY, Seed, utc

BUILTINS = frozenset(REGISTRY.kpis)
EXISTING = ["UPSELL", "CROSS_SELL", "RENEWAL", "UPGRADE"]
#: The worked example of docs/metrics.md.
CUSTOMER_OUTCOMES: dict[str, Any] = {
    "name": "customerOutcomes",
    "description": "Deals with existing customers won in the period ÷ those closed.",
    "unit": "RATIO",
    "numerator": {
        "entity": "deals",
        "time": "closed",
        "filters": {"dealTypes": EXISTING, "status": ["WON"]},
    },
    "denominator": {
        "entity": "deals",
        "time": "closed",
        "filters": {"dealTypes": EXISTING, "status": ["WON", "LOST"]},
    },
}
JUNE = PeriodSpec(start=date(2025, 6, 1), end=date(2025, 7, 1))
NOW = utc(2026, 1, 1)


def _with(**changes: Any) -> dict[str, Any]:
    return {**CUSTOMER_OUTCOMES, **changes}


async def _answer(seed: Seed, *specs: dict[str, Any], **request: Any) -> list[Any]:
    kpis = [compile_user_kpi(s, BUILTINS) for s in specs]
    registry = REGISTRY.extended(
        [m for k in kpis for m in k.measures], [k.definition for k in kpis]
    )
    await seed.session.commit()
    results = await MetricsExecutor(registry).run(
        seed.session,
        Scope((seed.workspace.id,)),
        [KpiRequest(k.definition.name, JUNE, **request) for k in kpis],
        now=NOW,
    )
    return results


async def test_customer_outcomes_counts_existing_customer_deals_only(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    june = utc(2025, 6, 10)
    await seed.deals(15, status="WON", closed_at=june, deal_type="UPSELL")
    await seed.deals(10, status="LOST", closed_at=june, deal_type="RENEWAL")
    await seed.deals(7, status="WON", closed_at=june, deal_type="NEW_BUSINESS")
    await seed.deals(4, status="WON", closed_at=utc(2025, 7, 2), deal_type="UPSELL")
    (result,) = await _answer(seed, CUSTOMER_OUTCOMES)
    assert (result.value, result.numerator, result.denominator) == (0.6, 15, 25)
    assert result.unit is Unit.RATIO and result.name == "customerOutcomes"


async def test_sums_averages_and_segments_like_builtins(session: AsyncSession) -> None:
    seed = await Seed.create(session, currency="USD")
    ana, bob = await seed.user("Ana"), await seed.user("Bob")
    await seed.rate(date(2025, 6, 10), "EUR", "2")
    june = utc(2025, 6, 10)
    await seed.deal(status="WON", closed_at=june, amount=100, owner_remote_id=ana.remote_id)
    await seed.deal(
        status="WON", closed_at=june, amount=100, currency="EUR", owner_remote_id=bob.remote_id
    )
    await seed.deal(status="WON", closed_at=june, amount=5, currency="XXX")
    avg = {
        "name": "meanWin",
        "description": "Mean won amount.",
        "unit": "MONEY",
        "measure": {
            "entity": "deals",
            "time": "closed",
            "filters": {"status": ["WON"]},
            "aggregate": "avg",
            "field": "amount",
        },
    }
    total = {**avg, "name": "wonTotal", "measure": {**avg["measure"], "aggregate": "sum"}}
    mean, summed = await _answer(seed, avg, total)
    assert (summed.value, summed.missing_fx_count, summed.currency) == (300.0, 1, "USD")
    assert mean.value == 150.0  # the unconverted deal is left out of the count too
    (mine,) = await _answer(
        seed, total, segment=Segment.of([(DimensionRef(Dimension.OWNER), [str(ana.id)])])
    )
    assert mine.value == 100.0


async def test_leads_contacts_accounts_and_activities(session: AsyncSession) -> None:
    seed = await Seed.create(session)
    june = utc(2025, 6, 3)
    await seed.lead(remote_created_at=june, source="web")
    await seed.lead(remote_created_at=june, source="referral")
    await seed.contact(remote_created_at=june)
    await seed.account("A", remote_created_at=june, country="ES")
    await seed.account("B", remote_created_at=june, country="FR")
    await seed.activity(type="CALL", done_at=june, response="POSITIVE")
    await seed.activity(type="EMAIL", done_at=june)

    def count(name: str, entity: str, **measure: Any) -> dict[str, Any]:
        return {
            "name": name,
            "description": name,
            "unit": "COUNT",
            "measure": {"entity": entity, **measure},
        }

    results = await _answer(
        seed,
        count("webLeads", "leads", filters={"sources": ["web"]}),
        count("newContacts", "contacts"),
        count("spanishAccounts", "accounts", filters={"countries": ["ES"]}),
        count("positiveCalls", "activities", time="done", filters={"response": ["POSITIVE"]}),
    )
    assert [r.value for r in results] == [1.0, 1.0, 1.0, 1.0]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_with(name="winRate"), "name: 'winRate' is a built-in KPI"),
        (_with(name="kpi"), "name: 'kpi' is a built-in KPI or field"),
        (_with(name="Bad name"), "must be lowerCamelCase"),
        (_with(unit="PERCENT"), "unit: unknown unit 'PERCENT'"),
        (_with(unit="MONEY"), "unit: MONEY needs a money sum"),
        (_with(unit="COUNT"), "unit: COUNT is the unit of a plain count"),
        (
            _with(numerator={"entity": "deals", "filters": {"colour": ["red"]}}),
            "numerator.filters.colour: unknown field 'colour' for deals",
        ),
        (
            _with(numerator={"entity": "deals", "filters": {"status": ["DONE"]}}),
            "numerator.filters.status: 'DONE' is not one of LOST, OPEN, WON",
        ),
        (
            _with(numerator={"entity": "deals", "filters": {"status": "WON"}}),
            "numerator.filters.status: must be a non-empty list",
        ),
        (
            _with(numerator={"entity": "leads", "filters": {"pipelines": ["1"]}}),
            "numerator.filters.pipelines: leads cannot be filtered by pipelines",
        ),
        (
            _with(numerator={"entity": "deals", "filters": {"owners": ["ana"]}}),
            "numerator.filters: owner ids must be the numeric ids",
        ),
        (_with(numerator={"entity": "tickets"}), "numerator.entity: unknown entity 'tickets'"),
        (_with(numerator={"entity": "deals", "time": "won"}), "numerator.time: deals have no"),
        (
            _with(numerator={"entity": "deals", "aggregate": "sum", "field": "name"}),
            "numerator.field: 'name' is not a numeric field of deals",
        ),
        (
            _with(numerator={"entity": "deals", "aggregate": "sum", "field": "amount"}),
            "unit: a money value needs the unit MONEY, not RATIO",
        ),
        (
            _with(numerator={"entity": "leads", "aggregate": "avg", "field": "amount"}),
            "numerator.field: 'amount' is not a numeric field of leads (numeric fields: none)",
        ),
        (
            _with(numerator={"entity": "deals", "aggregate": "avg", "field": "probability"}),
            "numerator.aggregate: a ratio's parts are counts or sums",
        ),
        (_with(numerator={"entity": "deals", "aggregate": "max"}), "'max' is not one of"),
        (_with(measure={"entity": "deals"}), "give either 'measure', or 'numerator'"),
        (_with(colour="red"), "definition: unknown key 'colour'"),
        ({"name": "x1"}, "description: must be a non-empty string"),
        (_with(numerator={"entity": "deals", "time": ["closed"]}), "numerator.time: deals have"),
        (_with(numerator={"entity": "deals", "aggregate": {}}), "numerator.aggregate: {}"),
        ({**CUSTOMER_OUTCOMES, 7: "x"}, "definition: unknown key '7'"),
        ([1, 2], "must be an object, not list"),
    ],
)
def test_mistakes_are_refused_with_where_and_why(spec: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        compile_user_kpi(spec, BUILTINS)
    assert message in str(caught.value)
