"""Capabilities in a run, end to end over HTTP: discovery at a full sync, SKIPPED streams
that leave the run SUCCEEDED, what a stream learns stored, BLOCKED dependants of a failed
stream (PARTIAL), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import tests.plugins.testcrm.connector as testcrm_connector
from core.models import Connection, Workspace
from core.models.enums import SyncStatus
from core.sync.capabilities import Capabilities, CapabilityStatus
from core.sync.runs import StreamStatus
from tests.plugins.testcrm.simulator import Simulator
from tests.support.syncing import SyncBench


async def _capabilities(crm: SyncBench, connection_id: str) -> tuple[Capabilities, object]:
    async with crm.sessionmaker() as session:
        connection = await session.get(Connection, connection_id)
        assert connection is not None
        return Capabilities.from_json(connection.capabilities), connection.capabilities_checked_at


async def _data_version(crm: SyncBench) -> int:
    async with crm.sessionmaker() as session:
        return int(await session.scalar(select(Workspace.data_version)) or 0)


async def test_a_full_sync_discovers_and_skips_what_the_account_lacks(
    crm: SyncBench, simulator: Simulator
) -> None:
    simulator.forecasts = False
    connection = await crm.connect()
    result = await crm.sync(connection.id, full=True)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    forecasts = result.stats.streams["forecasts"]
    assert forecasts.status is StreamStatus.SKIPPED
    assert forecasts.error == "Forecasts: not enabled on this plan (HTTP 403)"
    assert result.stats.streams["deals"].status is StreamStatus.DONE
    stored, checked_at = await _capabilities(crm, connection.id)
    assert stored["forecasts"].status is CapabilityStatus.UNAVAILABLE
    assert stored["forecasts"].reason == "not enabled on this plan (HTTP 403)"
    assert checked_at is not None

    # The plan is upgraded: the next full sync finds forecasts and reads them; it writes
    # no row, but KPI answers gated by forecasts change: the data version moves.
    version = await _data_version(crm)
    simulator.forecasts = True
    again = await crm.sync(connection.id, full=True)
    assert await _data_version(crm) > version
    assert again.stats.streams["forecasts"].status is StreamStatus.DONE
    assert again.stats.streams["forecasts"].fetched == 1
    stored, _ = await _capabilities(crm, connection.id)
    assert stored["forecasts"].status is CapabilityStatus.AVAILABLE


async def test_a_stream_that_meets_a_missing_capability_is_skipped_and_it_is_stored(
    crm: SyncBench, simulator: Simulator
) -> None:
    simulator.forecasts = False
    connection = await crm.connect()
    # An incremental run does not discover: the stream itself meets the 403.
    result = await crm.sync(connection.id)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.streams["forecasts"].status is StreamStatus.SKIPPED
    stored, checked_at = await _capabilities(crm, connection.id)
    assert stored["forecasts"].status is CapabilityStatus.UNAVAILABLE
    assert stored["forecasts"].streams == ("forecasts",)
    assert checked_at is None  # learnt by a stream, not by a discovery
    assert simulator.calls["/v1/forecasts"] == 1
    # Stored as unavailable: the next run skips the stream without asking.
    second = await crm.sync(connection.id)
    assert second.stats.streams["forecasts"].status is StreamStatus.SKIPPED
    assert simulator.calls["/v1/forecasts"] == 1


async def test_a_failed_stream_blocks_its_dependants_and_the_run_is_partial(
    crm: SyncBench, simulator: Simulator
) -> None:
    simulator.broken["/v1/pipelines"] = "pipelines are being migrated"
    connection = await crm.connect()
    result = await crm.sync(connection.id)

    assert result.status is SyncStatus.PARTIAL
    streams = result.stats.streams
    assert streams["pipelines"].status is StreamStatus.FAILED
    assert "HTTP 400 on /v1/pipelines" in (streams["pipelines"].error or "")
    assert streams["deals"].status is StreamStatus.BLOCKED
    assert streams["deals"].error == "depends on failed stream pipelines"
    assert streams["users"].status is StreamStatus.DONE
    assert set(result.stats.incomplete()) == {"pipelines", "deals"}


async def test_the_dependants_of_a_skipped_stream_still_run(
    crm: SyncBench, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pipelines needing the forecasts capability (which this account lacks): skipped, and
    # deals, which depend on pipelines, run all the same (only a failure blocks them).
    monkeypatch.setattr(testcrm_connector.PipelinesStream, "requires", ("forecasts",))
    simulator.forecasts = False
    connection = await crm.connect()
    result = await crm.sync(connection.id, full=True)

    assert result.status is SyncStatus.SUCCEEDED, result.error
    assert result.stats.streams["pipelines"].status is StreamStatus.SKIPPED
    assert result.stats.streams["deals"].status is StreamStatus.DONE
    assert result.stats.streams["deals"].fetched == simulator.data.counts["deals"]
    assert simulator.calls["/v1/pipelines"] == 0


async def test_a_broken_discovery_keeps_what_is_stored_and_the_sync_runs(
    crm: SyncBench, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulator.forecasts = False
    connection = await crm.connect()
    await crm.sync(connection.id, full=True)
    before, checked_at = await _capabilities(crm, connection.id)

    async def broken(self: object, http: object, ctx: object) -> list[object]:
        raise KeyError("results")

    monkeypatch.setattr(testcrm_connector.TestCrmConnector, "discover", broken)
    result = await crm.sync(connection.id, full=True)
    assert result.status is SyncStatus.SUCCEEDED, result.error
    after, checked_again = await _capabilities(crm, connection.id)
    assert after.to_json() == before.to_json() and checked_again == checked_at
    assert result.stats.streams["forecasts"].status is StreamStatus.SKIPPED
