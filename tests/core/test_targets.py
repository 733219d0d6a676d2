"""Targets: upserted on KPI, period and canonical segment; attainment and projection."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFoundError, ValidationError
from core.models import Target, Workspace
from core.organizations import create_organization, create_workspace
from core.targets import (
    TargetKey,
    attainment,
    canonical_segment,
    find_targets,
    projection,
    segment_key,
    set_target,
)

MARCH = (date(2026, 3, 1), date(2026, 4, 1))


async def _workspace(session: AsyncSession) -> str:
    org = await create_organization(session, "Acme")
    ws = await create_workspace(session, organization_id=org.id, name="EU")
    await session.commit()
    return ws.id


async def test_setting_again_replaces_and_segments_are_canonical(session: AsyncSession) -> None:
    ws = await _workspace(session)
    start, end = MARCH
    await set_target(
        session, workspace_id=ws, kpi="salesRevenue", start=start, end=end, value="100000"
    )
    await set_target(
        session,
        workspace_id=ws,
        kpi="salesRevenue",
        start=start,
        end=end,
        value=5,
        segment={"owners": ["u2", "u1"], "custom": {"tier": ["gold"]}},
    )
    replaced = await set_target(
        session,
        workspace_id=ws,
        kpi="salesRevenue",
        start=start,
        end=end,
        value=Decimal("7.5"),
        segment={"CUSTOM:tier": ["gold"], "OWNER": ["u1", "u2", "u1"], "pipelines": []},
    )
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(Target)) == 2
    # Results carry targets, so each change invalidates cached results (data version).
    assert await session.scalar(select(Workspace.data_version).where(Workspace.id == ws)) == 3
    assert replaced.value == Decimal("7.5")
    assert replaced.segment == {"CUSTOM:tier": ["gold"], "OWNER": ["u1", "u2"]}
    seg = segment_key(canonical_segment({"owners": ["u1", "u2"], "custom": {"tier": ["gold"]}}))
    found = await find_targets(
        session,
        ws,
        [
            TargetKey("salesRevenue", *MARCH),
            TargetKey("salesRevenue", *MARCH, seg),
            TargetKey("salesRevenue", date(2026, 3, 1), date(2026, 3, 31)),
            TargetKey("dealsWon", *MARCH),
        ],
    )
    assert found == {
        TargetKey("salesRevenue", *MARCH): Decimal("100000"),
        TargetKey("salesRevenue", *MARCH, seg): Decimal("7.5"),
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kpi": "nope"}, "unknown KPI 'nope'"),
        ({"kpi": "sales revenue", "known_kpis": None}, "GraphQL field name"),
        ({"end": date(2026, 3, 1)}, "must end after it starts"),
        ({"value": "lots"}, "not a number"),
        ({"value": "NaN"}, "finite"),
        ({"segment": {"owner": ["u1"]}}, "unknown segment filter 'owner'"),
        ({"segment": {"owners": "u1"}}, "list of values"),
    ],
)
async def test_invalid_targets_are_refused(
    session: AsyncSession, changes: dict[str, object], message: str
) -> None:
    ws = await _workspace(session)
    args: dict[str, object] = {
        "workspace_id": ws,
        "kpi": "dealsWon",
        "start": MARCH[0],
        "end": MARCH[1],
        "value": 20,
        "known_kpis": {"dealsWon", "salesRevenue"},
    }
    with pytest.raises(ValidationError, match=message):
        await set_target(session, **{**args, **changes})  # type: ignore[arg-type]
    assert await session.scalar(select(func.count()).select_from(Target)) == 0


async def test_unknown_workspace(session: AsyncSession) -> None:
    with pytest.raises(NotFoundError):
        await set_target(
            session, workspace_id="ws_x", kpi="dealsWon", start=MARCH[0], end=MARCH[1], value=1
        )


def test_attainment() -> None:
    assert attainment(80_000.0, Decimal(100_000)) == pytest.approx(0.8)
    assert attainment(None, Decimal(1)) is None
    assert attainment(5.0, None) is None
    assert attainment(5.0, Decimal(0)) is None


def test_projection_is_a_run_rate_of_a_period_in_progress() -> None:
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
    ten_days_in = datetime(2026, 3, 11, tzinfo=UTC)
    assert projection(50.0, start, end, ten_days_in, additive=True) == pytest.approx(155.0)
    assert projection(0.4, start, end, ten_days_in, additive=False) == 0.4
    assert projection(50.0, start, end, end, additive=True) is None  # over: final value
    assert projection(50.0, start, end, start, additive=True) is None  # not started
    assert projection(None, start, end, ten_days_in, additive=True) is None
