"""The dashboard as an agency reads it, in headless Chromium over the real app (issue #22).

Two clients: Acme (USD) with two pipelines whose first stages share a name ("Appointment
scheduled"), Bravo (EUR) with one. The page must draw one funnel per pipeline in stage
order (never the stages of several pipelines in one list), a cross-pipeline view only on
the stage-kind scale, a clients table from one request, the month in progress marked as
partial, CSV downloads, and never put the API key in a request URL.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.async_api import Page, Request, expect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Connection, Deal, Pipeline, Stage, SyncRun
from core.organizations import create_organization, create_workspace
from core.tenancy import create_api_key
from tests.support.browser import artifact, chromium
from tests.support.live_server import crmkpi_app, live_server

expect.set_options(timeout=20_000)
_VIEWPORT = {"width": 1280, "height": 1000}


@dataclass
class Agency:
    key: str
    acme: str
    bravo: str
    acme_connection: str


#: (pipeline, [(stage, kind)] in display order, then the LOST stage)
_PIPELINES = {
    "Acme (US)": [
        (
            "Sales",
            [("Appointment scheduled", "LEAD_IN"), ("Qualified", "QUALIFIED"), ("Won", "WON")],
        ),
        ("Renewals", [("Appointment scheduled", "LEAD_IN"), ("Won", "WON")]),
    ],
    "Bravo (ES)": [("Sales", [("Appointment scheduled", "LEAD_IN"), ("Won", "WON")])],
}
#: Deals by current stage (index in the pipeline's stages; -1 is LOST), per pipeline.
_DEALS = {
    ("Acme (US)", "Sales"): [0, 0, 0, 0, 1, 1, 1, 2, 2, -1],
    ("Acme (US)", "Renewals"): [0, 0, 1],
    ("Bravo (ES)", "Sales"): [0, 1],
}


async def _seed(session: AsyncSession) -> Agency:
    org = await create_organization(session, "Agency")
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    connections: dict[str, str] = {}
    for client, (tz, cur) in {
        "Acme (US)": ("America/New_York", "USD"),
        "Bravo (ES)": ("Europe/Madrid", "EUR"),
    }.items():
        ws = await create_workspace(
            session, organization_id=org.id, name=client, timezone=tz, currency=cur
        )
        ids[client] = ws.id
        conn = Connection(workspace_id=ws.id, connector="hubspot", name=f"{client} CRM")
        session.add(conn)
        await session.flush()
        connections[client] = conn.id
        common = {"workspace_id": ws.id, "connection_id": conn.id, "synced_at": now}
        n = 0
        for pipeline, stages in _PIPELINES[client]:
            pid = f"{pipeline.lower()}-p"
            session.add(Pipeline(remote_id=pid, name=pipeline, **common))
            remote = [f"{pid}-s{i}" for i in range(len(stages))] + [f"{pid}-lost"]
            for order, ((name, kind), rid) in enumerate(
                zip([*stages, ("Lost", "LOST")], remote, strict=True), start=1
            ):
                won = kind == "WON"
                session.add(
                    Stage(
                        remote_id=rid,
                        pipeline_remote_id=pid,
                        name=name,
                        display_order=order,
                        kind=kind,
                        is_closed=won or kind == "LOST",
                        is_won=won,
                        **common,
                    )
                )
            for index in _DEALS[(client, pipeline)]:
                status = "LOST" if index == -1 else "WON" if index == len(stages) - 1 else "OPEN"
                n += 1
                session.add(
                    Deal(
                        remote_id=f"d{n}",
                        name=f"{client} {pipeline} deal {n}",
                        amount=Decimal(1000),
                        currency=cur,
                        status=status,
                        pipeline_remote_id=pid,
                        stage_remote_id=remote[index],
                        remote_created_at=now - timedelta(days=3),
                        closed_at=None if status == "OPEN" else now - timedelta(days=1),
                        **common,
                    )
                )
    _, key = await create_api_key(session, organization_id=org.id, role="viewer", name="page")
    await session.commit()
    return Agency(
        key=key,
        acme=ids["Acme (US)"],
        bravo=ids["Bravo (ES)"],
        acme_connection=connections["Acme (US)"],
    )


async def _settled(page: Page) -> None:
    await expect(page.locator("body")).to_have_attribute("data-loading", "false")


async def _funnel_labels(page: Page) -> list[str]:
    return await page.get_by_test_id("funnel").locator("text.stage-label").all_text_contents()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_agency_dashboard(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessionmaker() as session:
        agency = await _seed(session)
    app = crmkpi_app(database_url)
    with live_server(app) as base:
        async with chromium() as browser:
            context = await browser.new_context(
                locale="en-US", viewport=_VIEWPORT, accept_downloads=True
            )
            urls: list[str] = []
            context.on("request", lambda r: urls.append(r.url))
            graphql: list[Request] = []
            context.on("request", lambda r: graphql.append(r) if "/graphql" in r.url else None)
            page = await context.new_page()
            failures: list[str] = []
            page.on("pageerror", lambda exc: failures.append(f"page error: {exc}"))
            page.on(
                "console",
                lambda m: failures.append(f"console: {m.text}") if m.type == "error" else None,
            )
            # The key in the fragment (as `crmkpi demo` prints it): read, stored, removed.
            await page.goto(f"{base}/dashboard/#key={agency.key}&ws=*&period=THIS_MONTH")
            await expect(page.get_by_test_id("status")).to_have_text("Connected · 2 workspaces")
            assert "key=" not in page.url and "ws=*" in page.url.replace("%2A", "*")
            await _settled(page)
            stored = await page.evaluate(
                "[sessionStorage.getItem('crmkpi.apiKey'), localStorage.getItem('crmkpi.apiKey')]"
            )
            assert stored == [agency.key, None]

            # ---- per-pipeline funnel: stage order, never two pipelines in one list ----
            menu = page.get_by_test_id("funnel-pipeline")
            await expect(menu.locator("option")).to_have_text(
                [
                    "Renewals · Acme (US)",
                    "Sales · Acme (US)",
                    "Sales · Bravo (ES)",
                    "All pipelines, by stage kind",
                ]
            )
            await menu.select_option(label="Sales · Acme (US)")
            await expect(page.get_by_test_id("funnel-note")).to_have_text(
                "Sales: stages in pipeline order"
            )
            # 9 reached the first stage (the lost deal never reached one), 5 went on, 2 won.
            assert await _funnel_labels(page) == [
                "Appointment scheduled · 9",
                "Qualified · 5",
                "Won · 2",
            ]
            await expect(page.get_by_test_id("funnel")).to_contain_text("→ 55.6% next")
            await menu.select_option(label="Renewals · Acme (US)")
            await expect(page.get_by_test_id("funnel").locator("rect.stage")).to_have_count(2)
            assert await _funnel_labels(page) == ["Appointment scheduled · 3", "Won · 1"]
            # Across pipelines: the stage kinds, summed; each kind's rate within its pipeline.
            await menu.select_option("kinds")
            await expect(page.get_by_test_id("funnel-note")).to_contain_text(
                "All 3 pipelines on the common stage scale"
            )
            # A kind counts the deals that reached it or a later one: Renewals and Bravo have
            # no QUALIFIED stage, so their deals past "Appointment scheduled" count there.
            assert await _funnel_labels(page) == ["Lead in · 14", "Qualified · 7", "Won · 4"]
            await expect(page.get_by_test_id("funnel")).to_contain_text("→ 50% next")  # 7 of 14
            await expect(page.get_by_test_id("funnel")).to_contain_text("→ 57.1% next")  # 4 of 7
            assert "funnel=kinds" in page.url

            # ---- clients table: one request, sortable, drill-down, CSV ----
            table = page.get_by_test_id("clients-table")
            rows = table.get_by_test_id("client-row")
            await expect(rows).to_have_count(2)
            clients_requests = [r for r in graphql if "DashboardClients" in (r.post_data or "")]
            assert len(clients_requests) >= 1
            body = json.loads(clients_requests[-1].post_data or "{}")
            assert body["query"].count("metrics(") == 2  # one aliased metrics per client
            won = 'td[data-kpi="dealsWon"] .cell-value'
            await expect(rows.nth(0)).to_contain_text("Acme (US)")  # by name, at first
            await page.get_by_test_id("sort-dealsWon").click()  # largest first
            await expect(rows.nth(0).locator(won)).to_have_text("3")
            await expect(rows.nth(1).locator(won)).to_have_text("1")
            await page.get_by_test_id("sort-dealsWon").click()  # then smallest first
            await expect(rows.nth(0)).to_contain_text("Bravo (ES)")
            await expect(table.locator('th[data-column="dealsWon"]')).to_have_attribute(
                "aria-sort", "ascending"
            )
            # With its change against the previous period (no deal won then).
            change = rows.nth(1).locator('td[data-kpi="dealsWon"] [data-testid="client-change"]')
            await expect(change).to_have_text("+3")
            async with page.expect_download() as download_info:
                await page.get_by_test_id("clients-csv").click()
            download = await download_info.value
            saved = tmp_path / "clients.csv"
            await download.save_as(saved)
            parsed = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
            assert parsed[0][:3] == ["Client", "Sales revenue", "Sales revenue (comparison)"]
            assert [r[0] for r in parsed[1:]] == ["Bravo (ES)", "Acme (US)"]

            # A cell lists its records: Acme's deals won.
            await rows.nth(1).locator(won).click()
            await expect(page.locator("#drill-title")).to_have_text("Deals won · Acme (US)")
            await expect(page.get_by_test_id("drill-row")).to_have_count(3)
            async with page.expect_download() as download_info:
                await page.get_by_test_id("drill-csv").click()
            records = tmp_path / "records.csv"
            await (await download_info.value).save_as(records)
            lines = list(csv.reader(io.StringIO(records.read_text(encoding="utf-8-sig"))))
            assert len(lines) == 4 and lines[0][:3] == ["Type", "ID", "Name"]
            assert sorted(r[2] for r in lines[1:]) == [
                "Acme (US) Renewals deal 13",
                "Acme (US) Sales deal 8",
                "Acme (US) Sales deal 9",
            ]
            await page.locator("#drill-close").click()

            # ---- the month in progress is marked partial in every trend ----
            trend = page.locator('[data-testid="trend"][data-kpi="dealsWon"]')
            await expect(trend.locator('circle.dot[data-partial="true"]')).to_have_count(1)
            assert await trend.locator('circle.dot[data-partial="false"]').count() >= 1
            await expect(trend.locator("rect.partial-band")).to_have_count(1)
            await expect(trend.locator("path.line.partial")).to_have_count(1)

            # ---- a sync ends: the syncFinished stream makes the page refresh ----
            await expect(page.locator("body")).to_have_attribute("data-events", "open")
            async with sessionmaker() as session:
                run = SyncRun(
                    connection_id=agency.acme_connection,
                    workspace_id=agency.acme,
                    mode="INCREMENTAL",
                    status="SUCCEEDED",
                    finished_at=datetime.now(UTC),
                )
                session.add(run)
                await session.commit()
            app.state.crmkpi.plugins.hook.crmkpi_sync_finished(
                connection_id=agency.acme_connection, run_id=run.id, status="SUCCEEDED", stats={}
            )
            await expect(page.locator("body")).to_have_attribute("data-syncs", "1")
            await expect(page.get_by_test_id("status")).to_contain_text("new data synced")
            await expect(page.locator("body")).to_have_attribute("data-sync-refreshed", "1")
            # Documents already sent once are asked by hash with GET (persisted queries).
            by_hash = [r for r in graphql if r.method == "GET" and "persistedQuery" in r.url]
            assert by_hash, "the page never asked a query by its hash"
            assert all("query=" not in r.url for r in by_hash)

            await page.screenshot(path=artifact("dashboard-agency.png"), full_page=True)
            await context.close()
    assert not [u for u in urls if agency.key in u], "the API key appeared in a request URL"
    assert failures == []
