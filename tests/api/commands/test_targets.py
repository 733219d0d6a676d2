"""`crmkpi target set`: prints the target's id; setting again replaces; clear errors."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import crmkpi


def test_set_and_replace_a_target(workspace: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    ws, env = workspace
    args = ("target", "set", "--workspace", ws, "--kpi", "dealsWon", "--start", "2026-03-01")
    first = crmkpi(*args, "--end", "2026-04-01", "20", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = crmkpi(
        *args,
        "--end",
        "2026-04-01",
        "--segment",
        '{"owners": ["u1"]}',
        "25",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    data = json.loads(again.stdout)
    assert data["segment"] == {"OWNER": ["u1"]} and float(data["value"]) == 25
    assert str(data["id"]) != first.stdout.strip().splitlines()[-1]
    bad = crmkpi(*args, "--end", "2026-02-01", "20", env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "must end after it starts" in bad.stderr
    assert "Traceback" not in bad.stderr
