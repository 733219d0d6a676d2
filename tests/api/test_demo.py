"""`crmkpi demo` from an empty folder: three simulated CRMs synced, every dashboard KPI
answered (`--check`), and everything reused by a second run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _demo(cwd: Path, mode: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRMKPI_LOG_FORMAT": "json"}
    for name in ("CRMKPI_DATABASE_URL", "CRMKPI_SECRET_KEYS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", mode, "--deals", "300"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_demo_sets_up_syncs_and_reuses(tmp_path: Path) -> None:
    first = _demo(tmp_path, "--check")
    assert first.returncode == 0, first.stderr[-2000:]
    assert "demo check: all 16 dashboard KPIs answered" in first.stdout
    for crm in ("hubspot", "salesforce", "pipedrive"):
        assert f"sync {crm}: SUCCEEDED" in first.stdout
    state = json.loads((tmp_path / "var" / "demo.json").read_text())
    assert oct((tmp_path / "var" / "demo.json").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "var" / "secret.key").stat().st_mode & 0o777) == "0o600"
    # The key is printed apart from the URL, or in its fragment (never sent to the server).
    assert f"/dashboard/#key={state['api_key']}" in first.stdout
    assert "?key=" not in first.stdout
    assert len(state["workspace_ids"]) == 2 and len(state["connections"]) == 3

    second = _demo(tmp_path, "--no-serve")
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads((tmp_path / "var" / "demo.json").read_text()) == state
    assert second.stdout.count(": SUCCEEDED") == 3
