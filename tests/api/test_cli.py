"""The CLI contract: ids on the last line, --json, and one clear line on errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def crmkpi(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def cli_env(database_url: str) -> dict[str, str]:
    return {"CRMKPI_DATABASE_URL": database_url, "CRMKPI_LOG_FORMAT": "json"}


def test_create_org_workspace_and_key(cli_env: dict[str, str], tmp_path: Path) -> None:
    if "postgresql" in cli_env["CRMKPI_DATABASE_URL"]:
        assert crmkpi("db", "upgrade", env=cli_env, cwd=tmp_path).returncode == 0
    org = crmkpi("org", "create", "Acme", env=cli_env, cwd=tmp_path)
    assert org.returncode == 0, org.stderr
    org_id = org.stdout.strip().splitlines()[-1]
    assert org_id.startswith("org_")
    ws = crmkpi(
        "workspace",
        "create",
        "--org",
        org_id,
        "--name",
        "EU",
        "--timezone",
        "Europe/Madrid",
        "--currency",
        "eur",
        "--json",
        env=cli_env,
        cwd=tmp_path,
    )
    assert ws.returncode == 0, ws.stderr
    data = json.loads(ws.stdout)
    assert data["currency"] == "EUR" and data["timezone"] == "Europe/Madrid"
    key = crmkpi(
        "apikey",
        "create",
        "--org",
        org_id,
        "--role",
        "admin",
        "--workspace",
        data["id"],
        env=cli_env,
        cwd=tmp_path,
    )
    assert key.returncode == 0, key.stderr
    assert key.stdout.strip().splitlines()[-1].startswith("ck_")


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("org", "create", "X", "--bogus"), {}, "No such option"),
        (("org", "create", "X"), {"CRMKPI_DATABASE_URL": "mysql://db"}, "CRMKPI_DATABASE_URL"),
        (
            ("org", "create", "X"),
            {"CRMKPI_DATABASE_URL": "postgresql+asyncpg://u:pw@127.0.0.1:1/x"},
            "cannot reach the database",
        ),
        (("workspace", "create", "--org", "org_missing", "--name", "A"), {}, "not found"),
        (
            ("workspace", "create", "--org", "o", "--name", "A", "--timezone", "Mars/Base"),
            {},
            "timezone",
        ),
    ],
)
def test_errors_are_one_clear_line(
    args: tuple[str, ...], env: dict[str, str], expected: str, tmp_path: Path
) -> None:
    base = {"CRMKPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}
    result = crmkpi(*args, env={**base, **env}, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    assert "pw@" not in result.stderr  # no secret of the URL in the message
