"""`crmkpi connection add`, `crmkpi connection check` and `crmkpi sync` against the
Pipedrive simulator's account variants: what a person reads about a minimal account
(non-admin token: no teams; no archived deals), and a sync that exits 0 with the teams
stream skipped for it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.pipedrive.simulator import API_TOKEN, PipedriveSimulator
from core.simulation.dataset import generate
from core.simulation.options import Account
from tests.api.test_cli import crmkpi
from tests.support.server import serve


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    from core.secrets import ensure_key_file

    key_file = tmp_path / "secret.key"
    ensure_key_file(key_file)
    return {
        "CRMKPI_DATABASE_URL": database_url,
        "CRMKPI_LOG_FORMAT": "json",
        "CRMKPI_SECRET_KEYS_FILE": str(key_file),
    }


@pytest.fixture
def account() -> Account:
    """The minimal account (the full one's capabilities are checked in test_e2e_accounts:
    every CLI call is a process, so one variant here)."""
    return Account.MINIMAL


@pytest.fixture
def simulator_url(account: Account) -> Iterator[str]:
    with serve(PipedriveSimulator(generate(seed=6, deals=40), account=account).asgi()) as url:
        yield url


def test_check_explains_the_account_and_sync_exits_0(
    env: dict[str, str], tmp_path: Path, simulator_url: str, account: Account
) -> None:
    if "postgresql" in env["CRMKPI_DATABASE_URL"]:
        assert crmkpi("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    org = crmkpi("org", "create", "Acme", env=env, cwd=tmp_path).stdout.split()[-1]
    ws = crmkpi("workspace", "create", "--org", org, "--name", "W", env=env, cwd=tmp_path)
    added = crmkpi(
        "connection", "add", "--workspace", ws.stdout.split()[-1], "--connector", "pipedrive",
        "--base-url", simulator_url, "--credential", f"api_token={API_TOKEN}",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    connection = added.stdout.strip().splitlines()[-1]

    check = crmkpi("connection", "check", connection, env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    text = " ".join(check.stdout.split())
    as_json = json.loads(
        crmkpi("connection", "check", connection, "--json", env=env, cwd=tmp_path).stdout
    )
    status = {c["key"]: c["status"] for c in as_json["capabilities"]}
    if account is Account.MINIMAL:
        assert "Teams (legacy teams API, admin token): not permitted for this token" in text
        assert "stream teams skipped" in text
        assert "Archived deals: not available on this account (HTTP 404" in text
        assert status["teams"] == status["archived_deals"] == "UNAVAILABLE"
    else:
        assert set(status.values()) == {"AVAILABLE"}
    assert status["lead_conversions"] == "AVAILABLE"

    synced = crmkpi("sync", connection, "--json", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    result = json.loads(synced.stdout)
    assert result["status"] == "SUCCEEDED" and result["exit_code"] == 0
    skipped = result["skipped"]
    assert set(skipped) == ({"teams"} if account is Account.MINIMAL else set())
