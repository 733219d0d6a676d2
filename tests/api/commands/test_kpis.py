"""`crmkpi kpi define|list|delete` from YAML and JSON files, with clear errors (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import Workspace
from tests.core.metrics.test_user_kpis import CUSTOMER_OUTCOMES
from tests.support.cli import crmkpi

YAML = """\
name: customerOutcomes
description: Deals with existing customers won in the period ÷ those closed in the period.
unit: RATIO
numerator:
  entity: deals
  time: closed
  filters: {dealTypes: [UPSELL, CROSS_SELL, RENEWAL, UPGRADE], status: [WON]}
denominator:
  entity: deals
  time: closed
  filters: {dealTypes: [UPSELL, CROSS_SELL, RENEWAL, UPGRADE], status: [WON, LOST]}
"""


async def test_define_list_and_delete(
    workspace: tuple[str, dict[str, str]],
    tmp_path: Path,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    ws, env = workspace
    async with sessionmaker() as session:
        org = await session.scalar(select(Workspace.organization_id).where(Workspace.id == ws))
    assert org is not None
    (tmp_path / "outcomes.yaml").write_text(YAML, encoding="utf-8")
    per_ws = {**CUSTOMER_OUTCOMES, "name": "teamOutcomes"}
    (tmp_path / "team.json").write_text(json.dumps(per_ws), encoding="utf-8")

    first = crmkpi("kpi", "define", "--organization", org, "outcomes.yaml", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip().splitlines()[-1] == "customerOutcomes"
    second = crmkpi(
        "kpi", "define", "--workspace", ws, "team.json", "--json", env=env, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["workspace"] == ws

    listed = crmkpi("kpi", "list", "--organization", org, "--json", env=env, cwd=tmp_path)
    rows = json.loads(listed.stdout)["kpis"]
    assert [(r["name"], r["workspace"]) for r in rows] == [
        ("customerOutcomes", ""),
        ("teamOutcomes", ws),
    ]

    deleted = crmkpi("kpi", "delete", "teamOutcomes", "--organization", org, env=env, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    text = crmkpi("kpi", "list", env=env, cwd=tmp_path)
    assert "customerOutcomes" in text.stdout and "teamOutcomes" not in text.stdout


def test_bad_files_are_refused_in_one_line(
    workspace: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    ws, env = workspace
    (tmp_path / "bad.yaml").write_text(YAML.replace("unit: RATIO", "unit: PERCENT"), "utf-8")
    (tmp_path / "broken.json").write_text("{", "utf-8")
    (tmp_path / "kpi.txt").write_text("{}", "utf-8")
    cases = {
        ("--workspace", ws, "bad.yaml"): "unit: unknown unit 'PERCENT'",
        ("--workspace", ws, "broken.json"): "broken.json is not valid JSON",
        ("--workspace", ws, "kpi.txt"): "ends in .json, .yaml or .yml",
        ("bad.yaml",): "give a workspace or an organization, exactly one",
    }
    for args, message in cases.items():
        answer = crmkpi("kpi", "define", *args, env=env, cwd=tmp_path)
        assert answer.returncode == 1 and message in answer.stderr, (args, answer.stderr)
        assert "Traceback" not in answer.stderr
    (tmp_path / "good.yaml").write_text(YAML, "utf-8")
    missing = crmkpi("kpi", "define", "--workspace", "ws_nope", "good.yaml", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "workspace 'ws_nope' not found" in missing.stderr
