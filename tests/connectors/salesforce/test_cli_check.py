"""`crmkpi connection add`, `connection check` and `sync` on a minimal and a full simulated
Salesforce org (issue #18): what a person is told about the org, and the exit status of a
sync whose optional streams are skipped (0) — the CLI as a user runs it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.salesforce.simulator import CREDENTIALS, create_simulator
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


@pytest.fixture(params=["minimal", "full"])
def org(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    sim = create_simulator(seed=8, deals=40, account=request.param, deletions=True)
    with serve(sim.app) as url:
        yield request.param, url


def _workspace(env: dict[str, str], cwd: Path) -> str:
    if "postgresql" in env["CRMKPI_DATABASE_URL"]:
        assert crmkpi("db", "upgrade", env=env, cwd=cwd).returncode == 0
    made = crmkpi("org", "create", "Acme", env=env, cwd=cwd).stdout.split()[-1]
    ws = crmkpi("workspace", "create", "--org", made, "--name", "W", env=env, cwd=cwd)
    return ws.stdout.split()[-1]


def test_check_explains_the_org_and_sync_exits_0(
    env: dict[str, str], tmp_path: Path, org: tuple[str, str]
) -> None:
    account, url = org
    credentials = [f"--credential={k}={v}" for k, v in CREDENTIALS.items()]
    added = crmkpi(
        "connection", "add", "--workspace", _workspace(env, tmp_path), "--connector",
        "salesforce", "--base-url", url, *credentials, "--option", "bulk_threshold=10",
        "--json", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert report["options"] == {"bulk_threshold": "10"}
    connection = report["id"]

    check = crmkpi("connection", "check", connection, env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "credentials accepted" in check.stdout
    if account == "minimal":  # a table a person can act on (wrapped at 80 columns)
        for shown in ("Multiple currencies", "single-currency org", "User roles (teams)"):
            assert shown in check.stdout
        assert "stream teams skipped" in check.stdout
    as_json = json.loads(
        crmkpi("connection", "check", connection, "--json", env=env, cwd=tmp_path).stdout
    )
    statuses = {c["key"]: c["status"] for c in as_json["capabilities"]}
    if account == "minimal":
        assert statuses["currency_types"] == statuses["user_roles"] == "UNAVAILABLE"
        reasons = {c["key"]: c["reason"] for c in as_json["capabilities"]}
        assert "single-currency org" in reasons["currency_types"]
    else:
        assert set(statuses.values()) == {"AVAILABLE"}

    synced = crmkpi("sync", connection, "--json", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    result = json.loads(synced.stdout)
    assert result["status"] == "SUCCEEDED" and result["exit_code"] == 0
    skipped = set(result["skipped"])
    assert skipped == (
        {"teams", "notes", "currencies", "fx_rates"} if account == "minimal" else set()
    )
