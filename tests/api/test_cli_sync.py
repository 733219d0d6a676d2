"""`crmkpi connectors list`, `connection add`, `sync`, `simulate` against the test CRM."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.api.test_cli import crmkpi
from tests.plugins.testcrm.dataset import Dataset, generate
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.server import serve


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "secret.key"
    from core.secrets import ensure_key_file

    ensure_key_file(key_file)
    return {
        "CRMKPI_DATABASE_URL": database_url,
        "CRMKPI_LOG_FORMAT": "json",
        "CRMKPI_PLUGINS": "tests.plugins.testcrm",
        "CRMKPI_SECRET_KEYS_FILE": str(key_file),
    }


@pytest.fixture
def simulator_url() -> Iterator[str]:
    with serve(Simulator(Dataset.sized(300)).app()) as url:
        yield url


def test_connectors_list_shows_fields_streams_and_base_url(
    env: dict[str, str], tmp_path: Path
) -> None:
    listed = crmkpi("connectors", "list", "--json", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    testcrm = next(c for c in json.loads(listed.stdout) if c["name"] == "testcrm")
    assert {"name": "refresh_token", "secret": True, "required": True} in testcrm["credentials"]
    assert "deals" in testcrm["streams"] and testcrm["simulator"] is True
    assert testcrm["default_base_url"].startswith("http://")


def test_add_connection_then_sync_with_summary_and_json(
    env: dict[str, str], tmp_path: Path, simulator_url: str
) -> None:
    if "postgresql" in env["CRMKPI_DATABASE_URL"]:
        assert crmkpi("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    org = crmkpi("org", "create", "Acme", env=env, cwd=tmp_path).stdout.split()[-1]
    ws = crmkpi("workspace", "create", "--org", org, "--name", "W", env=env, cwd=tmp_path)
    workspace = ws.stdout.split()[-1]
    added = crmkpi(
        "connection", "add", "--workspace", workspace, "--connector", "testcrm",
        "--base-url", simulator_url, "--credential", f"refresh_token={REFRESH_TOKEN}",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert REFRESH_TOKEN not in added.stdout + added.stderr
    connection = added.stdout.strip().splitlines()[-1]
    assert connection.startswith("conn_")

    first = crmkpi("sync", connection, env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "SUCCEEDED: " in first.stdout and "deals" in first.stdout

    second = crmkpi(
        "sync", connection, "--full", "--stream", "deals", "--json", env=env, cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["status"] == "SUCCEEDED"
    assert set(report["streams"]) == {"pipelines", "deals"}
    assert report["streams"]["deals"]["fetched"] == 300
    history = sum(len(generate("deals", i)["history"]) for i in range(300))
    assert report["streams"]["deals"]["unchanged"] == 300 + history


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("connection", "add", "--workspace", "ws_x", "--connector", "nope"), "unknown connector"),
        (("sync", "conn_missing"), "no connection conn_missing"),
        (("simulate", "testcrm", "--faults", "boom=1"), "unknown fault"),
    ],
)
def test_errors_are_one_clear_line(
    env: dict[str, str], tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    if "postgresql" in env["CRMKPI_DATABASE_URL"]:
        assert crmkpi("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = crmkpi(*args, env=env, cwd=tmp_path)
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_connection_schedule_is_validated_and_stored(tmp_path: Path) -> None:
    env = {
        "CRMKPI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
        "CRMKPI_SECRET_KEYS": Fernet.generate_key().decode(),
    }
    org = crmkpi("org", "create", "Acme", env=env, cwd=tmp_path).stdout.strip().splitlines()[-1]
    ws = crmkpi("workspace", "create", "--org", org, "--name", "W", env=env, cwd=tmp_path)
    ws_id = ws.stdout.strip().splitlines()[-1]
    added = crmkpi(
        "connection",
        "add",
        "--workspace",
        ws_id,
        "--connector",
        "hubspot",
        "--credential",
        "access_token=x",
        "--schedule",
        "15m",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert added.returncode == 0, added.stderr
    conn = json.loads(added.stdout)
    assert conn["schedule"] == "15m"
    cron = crmkpi(
        "connection",
        "schedule",
        conn["id"],
        "--cron",
        "*/5 * * * *",
        "--json",
        env=env,
        cwd=tmp_path,
    )
    assert json.loads(cron.stdout)["schedule"] == "*/5 * * * *"
    bad = crmkpi("connection", "schedule", conn["id"], "--every", "10s", env=env, cwd=tmp_path)
    assert bad.returncode != 0 and "invalid schedule" in bad.stderr
    off = crmkpi("connection", "schedule", conn["id"], "--off", "--json", env=env, cwd=tmp_path)
    assert json.loads(off.stdout)["schedule"] == "manual"
    full = crmkpi(
        "connection", "schedule", conn["id"], "--full-sync", "7d", "--json", env=env, cwd=tmp_path
    )
    assert json.loads(full.stdout) == {"id": conn["id"], "schedule": "manual", "full_sync": "7d"}
    both = crmkpi(
        "connection", "schedule", conn["id"], "--every", "1h", "--cron", "* * * * *",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert both.returncode != 0 and "exactly one of" in both.stderr
    hook = crmkpi(
        "workspace", "webhook", ws_id, "--url", "http://127.0.0.1:9/hook", "--json",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert hook.returncode == 0, hook.stderr  # the CLI is trusted with local URLs
    assert json.loads(hook.stdout)["secret"].startswith("whsec_")
    unhooked = crmkpi("workspace", "webhook", ws_id, "--off", "--json", env=env, cwd=tmp_path)
    assert json.loads(unhooked.stdout)["secret"] is None
