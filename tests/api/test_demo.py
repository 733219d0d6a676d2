"""`crmkpi demo` from an empty folder: three simulated CRMs synced, data imported, reused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CRMKPI_LOG_FORMAT": "json"}
    for name in ("CRMKPI_DATABASE_URL", "CRMKPI_SECRET_KEYS"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--no-serve", "--deals", "300"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_demo_sets_up_syncs_and_reuses(tmp_path: Path) -> None:
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    for crm in ("hubspot", "salesforce", "pipedrive"):
        assert f"sync {crm}: SUCCEEDED" in first.stdout
    state = json.loads((tmp_path / "var" / "demo.json").read_text())
    assert oct((tmp_path / "var" / "demo.json").stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "var" / "secret.key").stat().st_mode & 0o777) == "0o600"
    assert f"/dashboard?key={state['api_key']}" in first.stdout
    assert len(state["workspace_ids"]) == 2 and len(state["connections"]) == 3

    second = _demo(tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert json.loads((tmp_path / "var" / "demo.json").read_text()) == state
    assert second.stdout.count(": SUCCEEDED") == 3
