"""Every stream against the simulator through the documented engine loop (tests' driver)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from connectors.salesforce.connector import SalesforceConnector
from connectors.salesforce.simulator import CREDENTIALS, SalesforceSimulator, create_simulator
from core.models.enums import SyncMode
from core.sync.records import (
    ActivityRecord,
    ContactRecord,
    DealRecord,
    DealStageHistoryRecord,
    FxRateRecord,
    LeadRecord,
)
from tests.connectors.salesforce import driver

LOGIN = "http://sf.test"


async def _client(sim: SalesforceSimulator) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(sim.app), base_url=LOGIN)


@pytest.fixture
async def sim() -> SalesforceSimulator:
    return create_simulator(seed=11, deals=300)


@pytest.fixture
async def http(sim: SalesforceSimulator) -> AsyncIterator[driver.Http]:
    async with await _client(sim) as client:
        yield driver.Http(client, SalesforceConnector(), dict(CREDENTIALS), LOGIN)


def _deals(result: driver.Result) -> dict[str, DealRecord]:
    return {r.remote_id: r for r in result.records["deals"] if isinstance(r, DealRecord)}


async def test_full_sync_renders_the_shared_business(
    sim: SalesforceSimulator, http: driver.Http
) -> None:
    result = await driver.run(http)
    data = sim.data
    deals = _deals(result)
    assert len(deals) == len(data.deals)
    assert Counter(d.status for d in deals.values()) == Counter(d.status for d in data.deals)
    assert sum(d.amount or 0 for d in deals.values()) == sum(d.amount for d in data.deals)
    stays = [r for r in result.records["deals"] if isinstance(r, DealStageHistoryRecord)]
    assert len(stays) == sum(len(d.history) for d in data.deals)
    closed = {d.name: d.closed_at for d in data.deals if d.closed_at}
    assert {d.name: d.closed_at for d in deals.values() if d.closed_at} == closed
    assert len(result.records["users"]) == len(data.users)
    assert len(result.records["teams"]) == len(data.teams)
    assert len(result.records["accounts"]) == len(data.accounts)
    assert len(result.records["contacts"]) == len(data.contacts)
    leads = [r for r in result.records["leads"] if isinstance(r, LeadRecord)]
    assert len(leads) == len(data.leads)
    assert sum(1 for r in leads if r.converted_deal_remote_id) == sum(
        1 for lead in data.leads if lead.converted_deal_id
    )
    activities = [
        r
        for name in ("tasks", "events", "notes")
        for r in result.records[name]
        if isinstance(r, ActivityRecord)
    ]
    assert Counter(a.type for a in activities) == Counter(a.type for a in data.activities)
    assert {s.name for s in result.records["stages"]} == {s.name for s in data.pipelines[0].stages}  # type: ignore[union-attr]
    rates = [r for r in result.records["fx_rates"] if isinstance(r, FxRateRecord)]
    assert len(rates) == len(data.fx_rates)
    sample = data.fx_rates[-1]
    got = next(r for r in rates if (r.currency, r.day) == (sample.currency, sample.day))
    assert abs(got.rate - sample.usd) < sample.usd * Decimal("0.00001")
    assert http.refreshes == 0
    assert http.last_usage is not None and http.last_usage.used == http.calls


async def test_repeat_incremental_sync_reads_only_the_look_back_window(http: driver.Http) -> None:
    first = await driver.run(http)
    calls = http.calls
    again = await driver.run(http, mode=SyncMode.INCREMENTAL, cursors=first.cursors)
    assert again.cursors == first.cursors
    old = _deals(first)
    for remote_id, deal in _deals(again).items():  # re-read rows are identical: a no-op upsert
        assert deal == old[remote_id]
    assert len(_deals(again)) < len(old) / 10
    assert http.calls - calls <= 40  # describe + one page per stream + deletions


async def test_incremental_sync_sees_edits_and_deletions(
    sim: SalesforceSimulator, http: driver.Http
) -> None:
    first = await driver.run(http)
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    edited = sim.data.edit_deals(4, at)
    gone_contacts = sim.data.contacts[:3]
    gone_deals = [d for d in sim.data.deals if d not in edited][:2]
    sim.data.delete(gone_contacts, at)
    sim.data.delete(gone_deals, at)
    sim.rerender()
    second = await driver.run(http, mode=SyncMode.INCREMENTAL, cursors=first.cursors)
    deals = _deals(second)
    for deal in edited:
        got = next(d for d in deals.values() if d.name == deal.name)
        assert got.amount == deal.amount and got.remote_updated_at == at
    assert {rid for _, rid in second.deleted["contacts"]} >= {
        next(
            c.remote_id
            for c in first.records["contacts"]
            if isinstance(c, ContactRecord) and c.name == f"{g.first_name} {g.last_name}"
        )
        for g in gone_contacts
    }
    deleted_deals = {rid for cls, rid in second.deleted["deals"] if cls is DealRecord}
    assert {_deals(first)[rid].name for rid in deleted_deals} == {d.name for d in gone_deals}
    assert second.cursors["deals"].updated_at >= at


async def test_expired_session_mid_sync_refreshes_once_per_expiry() -> None:
    sim = create_simulator(seed=5, deals=200, session_requests=6)
    async with await _client(sim) as client:
        http = driver.Http(client, SalesforceConnector(), dict(CREDENTIALS), LOGIN)
        result = await driver.run(http)
    assert http.refreshes >= 2
    assert sim.token_requests == http.refreshes + 1
    assert len(_deals(result)) == len(sim.data.deals)


async def test_daily_limit_stops_the_run_then_it_resumes_from_the_cursor() -> None:
    sim = create_simulator(seed=9, deals=300, daily_limit=26, batch_size=200)
    # the deals stream starts after ~21 calls (describes, the org's time zone, one SELECT
    # COUNT() per bulk-eligible stream, pages): the limit stops the run inside it
    sim_deals = {d.name for d in sim.data.deals}
    async with await _client(sim) as client:
        http = driver.Http(client, SalesforceConnector(), dict(CREDENTIALS), LOGIN)
        partial = driver.Result()
        with pytest.raises(driver.QuotaExhausted, match="daily API request limit reached"):
            await driver.run(http, result=partial)
        assert http.last_usage is not None and http.last_usage.should_stop
        assert 0 < len(_deals(partial)) < len(sim_deals)  # stopped inside the deals stream
        sim.reset_usage()  # the next day, with the allocation to finish
        sim.daily_limit = 10_000
        resumed = await driver.run(http, mode=SyncMode.INCREMENTAL, cursors=partial.cursors)
    names = {d.name for d in _deals(partial).values()} | {d.name for d in _deals(resumed).values()}
    assert names == sim_deals
