"""The SQL the executor runs for a fixed dashboard request, against committed snapshots.

A change to the compiled SQL (a new join, a lost index-friendly condition, one more
statement) shows up as a diff of ``snapshots/dashboard.<dialect>.sql`` in review. After an
intended change, rewrite the snapshots with ``CRMKPI_UPDATE_SNAPSHOTS=1`` and commit them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.metrics import (
    Breakdown,
    Comparison,
    Dimension,
    DimensionRef,
    Granularity,
    KpiRequest,
    MetricsExecutor,
    PeriodSpec,
    Scope,
)
from core.models import Connection, Organization, Workspace
from tests.core.metrics.factory import REGISTRY, utc

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("CRMKPI_UPDATE_SNAPSHOTS") == "1"
MONTH = PeriodSpec(start=date(2025, 10, 1), end=date(2025, 11, 1))
YEAR = PeriodSpec(start=date(2024, 11, 1), end=date(2025, 11, 1))
#: The dashboard of bench/dashboard.graphql: 12 KPIs compared with the previous period,
#: 4 monthly series, 2 owner breakdowns.
DASHBOARD = [
    *(
        KpiRequest(kpi, period=MONTH, compare_to=Comparison.PREVIOUS_PERIOD)
        for kpi in (
            "salesRevenue",
            "dealsWon",
            "dealsLost",
            "winRate",
            "averageDealSize",
            "closeRate",
            "opportunitiesCreated",
            "averageSalesCycleDays",
            "pipelineValue",
            "weightedPipelineValue",
            "openDeals",
            "activities",
        )
    ),
    *(
        KpiRequest(kpi, period=YEAR, granularity=Granularity.MONTH)
        for kpi in ("salesRevenue", "dealsWon", "opportunitiesCreated", "activities")
    ),
    *(
        KpiRequest(kpi, period=MONTH, breakdown=Breakdown(DimensionRef(Dimension.OWNER)))
        for kpi in ("salesRevenue", "activities")
    ),
]
_COLUMNS = re.compile(r"( AS c\d+), ")


@contextmanager
def _statements(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def render(statements: list[tuple[str, Any]]) -> str:
    """One block per statement: the SQL (SQLAlchemy breaks it at its clauses) with one
    aggregate per line, then its parameters, so a diff points at what changed."""
    blocks = []
    for i, (sql, parameters) in enumerate(statements, 1):
        text = _COLUMNS.sub(r"\1,\n  ", sql.strip())
        text = "\n".join(line.rstrip() for line in text.splitlines())
        blocks.append(f"-- statement {i}\n{text};\n-- parameters: {parameters!r}\n")
    return "\n".join(blocks)


async def test_dashboard_sql_matches_the_snapshot(
    engine: AsyncEngine, session: AsyncSession
) -> None:
    org = Organization(id="org_snapshot", name="Snapshot")
    session.add(org)
    await session.flush()
    session.add(
        Workspace(
            id="ws_snapshot",
            organization_id=org.id,
            name="Snapshot",
            timezone="Europe/Madrid",
            currency="EUR",
        )
    )
    await session.flush()
    session.add(Connection(id="conn_snapshot", workspace_id="ws_snapshot", connector="hubspot"))
    await session.commit()
    with _statements(engine) as statements:
        results = await MetricsExecutor(REGISTRY).run(
            session, Scope(("ws_snapshot",)), DASHBOARD, now=utc(2025, 11, 15)
        )
    assert all(not isinstance(r, Exception) for r in results), results
    rendered = render(statements)
    path = SNAPSHOTS / f"dashboard.{engine.dialect.name}.sql"
    if UPDATE:
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered)
    assert path.exists(), f"no snapshot yet: run with CRMKPI_UPDATE_SNAPSHOTS=1 ({path})"
    expected = path.read_text()
    assert rendered == expected, (
        f"the compiled SQL changed; review the diff of {path.name} after rewriting it with "
        "CRMKPI_UPDATE_SNAPSHOTS=1"
    )
