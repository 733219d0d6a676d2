"""KPIs and capabilities: a KPI whose capability is unavailable on every connection in
scope answers null naming it; freshness lists connections whose last run left a stream
the KPI reads out of date."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from core.metrics import Dimension, DimensionRef, KpiRequest, PeriodSpec, Segment
from core.models import SyncRun
from core.sync.capabilities import Capabilities, Capability, CapabilityStatus
from core.sync.runs import RunStats, StreamStats, StreamStatus
from tests.core.metrics.factory import Seed, utc

MARCH = PeriodSpec(start=date(2026, 3, 1), end=date(2026, 4, 1))
NOW = utc(2026, 4, 2)
LEADS = Capability(
    "leads_object",
    "Leads object",
    CapabilityStatus.UNAVAILABLE,
    "not available on this portal (HTTP 404)",
    streams=("leads",),
    kpis=("newLeads", "leadConversionRate"),
)


@pytest.fixture
async def seed(session: AsyncSession) -> Seed:
    seed = await Seed.create(session)
    closed = utc(2026, 3, 5)
    await seed.deal(status="WON", closed_at=closed, remote_created_at=closed, amount=10)
    await seed.lead(remote_created_at=closed)
    seed.connection.last_synced_at = NOW
    return seed


async def test_a_kpi_whose_capability_no_connection_has_answers_null_naming_it(
    seed: Seed,
) -> None:
    seed.connection.capabilities = Capabilities([LEADS]).to_json()
    leads, won = await seed.run(
        KpiRequest("newLeads", period=MARCH), KpiRequest("dealsWon", period=MARCH), now=NOW
    )
    assert leads.value is None and leads.numerator is None
    assert leads.null_reason == (
        f"Leads object is not available on connection {seed.connection.id} (hubspot): "
        "not available on this portal (HTTP 404)"
    )
    assert won.value == 1 and won.null_reason is None  # not listed: computed as usual


async def test_one_connection_with_the_capability_is_enough(seed: Seed) -> None:
    seed.connection.capabilities = Capabilities([LEADS]).to_json()
    other = await seed.add_connection()
    other.capabilities = Capabilities(
        [Capability("leads_object", "Leads", CapabilityStatus.AVAILABLE)]
    ).to_json()
    other.last_synced_at = NOW
    both = await seed.one(KpiRequest("newLeads", period=MARCH), now=NOW)
    assert both.value == 1 and both.null_reason is None
    # A segment reading only the connection without it is gated again.
    only = Segment(filters=((DimensionRef(Dimension.CONNECTION), (seed.connection.id,)),))
    gated = await seed.one(KpiRequest("newLeads", period=MARCH, segment=only), now=NOW)
    assert gated.value is None and "Leads object" in (gated.null_reason or "")


async def test_unknown_or_available_capabilities_gate_nothing(seed: Seed) -> None:
    seed.connection.capabilities = Capabilities(
        [Capability("leads_object", "Leads", CapabilityStatus.UNKNOWN, kpis=("newLeads",))]
    ).to_json()
    leads = await seed.one(KpiRequest("newLeads", period=MARCH), now=NOW)
    assert leads.value == 1


async def test_a_stream_left_out_of_date_makes_the_connection_stale_for_its_kpis(
    seed: Seed, session: AsyncSession
) -> None:
    stats = RunStats(
        streams={
            "deals": StreamStats(status=StreamStatus.DONE, tables=["deals"]),
            "leads": StreamStats(status=StreamStatus.FAILED, error="HTTP 500", tables=["leads"]),
            "forecasts": StreamStats(status=StreamStatus.SKIPPED, tables=["activities"]),
        }
    )
    session.add(
        SyncRun(
            connection_id=seed.connection.id,
            workspace_id=seed.workspace.id,
            mode="INCREMENTAL",
            status="PARTIAL",
            started_at=NOW,
            finished_at=NOW,
            stream_stats=stats.to_json(),
        )
    )
    leads, won, activities = await seed.run(
        KpiRequest("newLeads", period=MARCH),
        KpiRequest("dealsWon", period=MARCH),
        KpiRequest("activities", period=MARCH),
        now=NOW,
    )
    assert leads.freshness.stale_connections == (seed.connection.id,)
    assert won.freshness.stale_connections == ()  # reads deals only: up to date
    assert activities.freshness.stale_connections == ()  # a SKIPPED stream is fine
    assert leads.value == 1  # stale, still answered
