"""Same facts, same numbers (issue #24): one seeded business rendered by the HubSpot,
Pipedrive and Salesforce simulators, synced end to end over HTTP into three workspaces of one
database, and every KPI of the catalogue compared across them for Q4 2024 in Europe/Madrid,
and again in America/New_York.

Each (KPI, CRM) pair is one test. The expected value is the plain-Python reading of KPIS.md
(tests/equivalence/reference.py) where it covers the KPI; otherwise the value at least two
CRMs agree on (HubSpot's when all three differ). KNOWN_DISAGREEMENTS lists, as strict xfails
with their cause, the pairs that differ today because of connector or simulator gaps other
branches are fixing: once one is fixed its test passes, fails as XPASS, and the entry goes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC

import pytest
from cryptography.fernet import Fernet

from core.db import create_engine, create_sessionmaker
from core.metrics import KpiRequest, KpiResult, MetricsExecutor, PeriodSpec, Scope
from core.secrets import Vault
from tests.conftest import _truncate
from tests.core.metrics.factory import REGISTRY
from tests.equivalence import harness
from tests.equivalence.reference import Reference

#: The period's timezone, and a second one whose local midnights fall elsewhere.
TIMEZONES = ("Europe/Madrid", "America/New_York")
PERIOD = PeriodSpec(start=harness.PERIOD_START, end=harness.PERIOD_END)
#: Money converts at rates each CRM stores with its own precision (Salesforce keeps the
#: inverse rate to 9 places): relative differences below this are the same number.
REL = 1e-6
#: Durations: Pipedrive keeps an activity's due time in minutes (``due_time`` HH:MM), so a
#: meeting's start, and a response time measured to it, is up to a minute off.
DURATION_REL = 1e-4

#: (KPI, CRM) -> why that CRM's number differs today. Add an entry (a strict xfail) only
#: with its cause; every KPI agrees on the three CRMs since #24.
KNOWN_DISAGREEMENTS: dict[tuple[str, str], str] = {}


def _expected_cases() -> list[tuple[str, str]]:
    return [(kpi, crm) for kpi in REGISTRY.kpis for crm in harness.CRMS]


def _param(kpi: str, crm: str) -> object:
    reason = KNOWN_DISAGREEMENTS.get((kpi, crm))
    marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
    return pytest.param(kpi, crm, marks=marks, id=f"{kpi}-{crm}")


Answers = dict[str, dict[str, float | None]]


async def _answers(database_url: str, timezone: str) -> Answers:
    """Sync the business into three workspaces and answer every KPI in each."""
    engine = create_engine(database_url)
    vault = Vault([Fernet.generate_key().decode()])
    try:
        with ExitStack() as servers:
            sessions = create_sessionmaker(engine)
            workspaces = await harness.sync_all(engine, sessions, vault, servers, timezone)
            requests = [KpiRequest(kpi, PERIOD) for kpi in REGISTRY.kpis]
            answers: Answers = {}
            async with sessions() as session:
                for crm, workspace_id in workspaces.items():
                    results = await MetricsExecutor(REGISTRY).run(
                        session, Scope((workspace_id,)), requests, now=harness.ANCHOR
                    )
                    answers[crm] = {}
                    for request, result in zip(requests, results, strict=True):
                        assert isinstance(result, KpiResult), (crm, request.kpi, result)
                        answers[crm][request.kpi] = result.value
            return answers
    finally:
        await _truncate(engine)
        await engine.dispose()


@pytest.fixture(scope="module", params=TIMEZONES)
def timezone(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def answers(database_url: str, timezone: str) -> Iterator[Answers]:
    mp = pytest.MonkeyPatch()
    harness.fast_limits(mp)
    try:
        yield asyncio.run(_answers(database_url, timezone))
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def reference(timezone: str) -> dict[str, float | None]:
    return Reference(
        harness.business(),
        harness.PERIOD_START,
        harness.PERIOD_END,
        timezone,
        harness.ANCHOR,
        harness.INACTIVITY_DAYS,
    ).all()


def _same(a: float | None, b: float | None, rel: float = REL) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=rel, abs=1e-9)


#: When the three CRMs all differ, the one whose rendering of the facts the KPI reads is
#: complete (see KNOWN_DISAGREEMENTS); HubSpot otherwise.
BASELINE: dict[str, str] = {}


def _consensus(kpi: str, answers: Answers) -> float | None:
    """The value at least two CRMs give, else the baseline CRM's."""
    values = [answers[c][kpi] for c in harness.CRMS]
    for value in values:
        if sum(1 for other in values if _same(value, other)) >= 2:
            return value
    return answers[BASELINE.get(kpi, "hubspot")][kpi]


@pytest.mark.parametrize(("kpi", "crm"), [_param(k, c) for k, c in _expected_cases()])
def test_every_crm_gives_the_same_number(
    answers: Answers, reference: dict[str, float | None], kpi: str, crm: str
) -> None:
    got = answers[crm][kpi]
    if kpi in reference:
        want, source = reference[kpi], "KPIS.md in plain Python"
    else:
        want, source = _consensus(kpi, answers), "the other CRMs"
    unit = REGISTRY.kpis[kpi].unit.value
    rel = DURATION_REL if unit in ("HOURS", "DAYS") else REL
    assert _same(got, want, rel), f"{kpi} on {crm}: {got}, {source}: {want}"


def test_the_comparison_is_not_vacuous(
    answers: Answers, reference: dict[str, float | None]
) -> None:
    """Most KPIs have a real value on the shared business, and the reference covers the
    core ones: a sync that read nothing could not pass by agreeing on nulls and zeros."""
    values = Counter(
        "value" if answers["salesforce"][k] not in (None, 0) else "empty" for k in REGISTRY.kpis
    )
    assert values["value"] >= len(REGISTRY.kpis) - 6, values
    assert len(reference) >= 29
    assert all(reference[k] is not None for k in ("salesRevenue", "newLeads", "arpa"))


def test_known_disagreements_name_real_pairs() -> None:
    for kpi, crm in KNOWN_DISAGREEMENTS:
        assert kpi in REGISTRY.kpis and crm in harness.CRMS, (kpi, crm)
    assert UTC  # the period bounds are computed in UTC from local dates (reference.py)
