"""`crmkpi connection add --option`, `crmkpi connection check` and `crmkpi sync`'s exit
status (0 succeeded with capability-skipped streams, 2 partial naming the stream and why,
1 failed), against the test CRM on an account without its optional forecasts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.test_cli import crmkpi
from tests.plugins.testcrm.dataset import Dataset
from tests.plugins.testcrm.simulator import REFRESH_TOKEN, Simulator
from tests.support.server import serve


@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    from core.secrets import ensure_key_file

    key_file = tmp_path / "secret.key"
    ensure_key_file(key_file)
    return {
        "CRMKPI_DATABASE_URL": database_url,
        "CRMKPI_LOG_FORMAT": "json",
        "CRMKPI_PLUGINS": "tests.plugins.testcrm",
        "CRMKPI_SECRET_KEYS_FILE": str(key_file),
    }


@pytest.fixture
def simulator() -> Simulator:
    simulator = Simulator(Dataset.sized(60))
    simulator.forecasts = False
    return simulator


@pytest.fixture
def simulator_url(simulator: Simulator) -> Iterator[str]:
    with serve(simulator.app()) as url:
        yield url


def _workspace(env: dict[str, str], cwd: Path) -> str:
    if "postgresql" in env["CRMKPI_DATABASE_URL"]:
        assert crmkpi("db", "upgrade", env=env, cwd=cwd).returncode == 0
    org = crmkpi("org", "create", "Acme", env=env, cwd=cwd).stdout.split()[-1]
    ws = crmkpi("workspace", "create", "--org", org, "--name", "W", env=env, cwd=cwd)
    return ws.stdout.split()[-1]


def _add(env: dict[str, str], cwd: Path, url: str, *extra: str, token: str = REFRESH_TOKEN) -> str:
    added = crmkpi(
        "connection", "add", "--workspace", _workspace(env, cwd), "--connector", "testcrm",
        "--base-url", url, "--credential", f"refresh_token={token}", *extra,
        env=env, cwd=cwd,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    return added.stdout.strip().splitlines()[-1]


def test_add_discovers_check_explains_and_sync_exits_0_with_a_skipped_stream(
    env: dict[str, str], tmp_path: Path, simulator_url: str
) -> None:
    added = crmkpi(
        "connection", "add", "--workspace", _workspace(env, tmp_path), "--connector", "testcrm",
        "--base-url", simulator_url, "--credential", f"refresh_token={REFRESH_TOKEN}",
        "--option", "region=us", "--json", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    report = json.loads(added.stdout)
    assert report["options"] == {"region": "us"}
    forecasts = report["capabilities"]["capabilities"][0]
    assert forecasts["key"] == "forecasts" and forecasts["available"] is False
    connection = report["id"]

    check = crmkpi("connection", "check", connection, env=env, cwd=tmp_path)
    assert check.returncode == 0, check.stderr
    assert "credentials accepted" in check.stdout
    assert (
        "Forecasts: not enabled on this plan (HTTP 403) — winRate answer null; "
        "stream forecasts skipped"
    ) in check.stdout
    as_json = json.loads(
        crmkpi("connection", "check", connection, "--json", env=env, cwd=tmp_path).stdout
    )
    assert as_json["credentials_ok"] is True and as_json["checked_at"]
    assert as_json["capabilities"][0]["status"] == "UNAVAILABLE"

    synced = crmkpi("sync", connection, "--json", env=env, cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    result = json.loads(synced.stdout)
    assert result["status"] == "SUCCEEDED" and result["exit_code"] == 0
    assert result["streams"]["forecasts"]["status"] == "SKIPPED"
    assert result["skipped"] == {"forecasts": "Forecasts: not enabled on this plan (HTTP 403)"}


def test_connectors_list_shows_the_option_fields(env: dict[str, str], tmp_path: Path) -> None:
    listed = crmkpi("connectors", "list", "--json", env=env, cwd=tmp_path)
    testcrm = next(c for c in json.loads(listed.stdout) if c["name"] == "testcrm")
    assert testcrm["options"] == [
        {"name": "region", "description": "Data centre of the account", "default": "eu"}
    ]
    assert "forecasts" in testcrm["streams"]


def test_an_unknown_option_is_refused(
    env: dict[str, str], tmp_path: Path, simulator_url: str
) -> None:
    added = crmkpi(
        "connection", "add", "--workspace", _workspace(env, tmp_path), "--connector", "testcrm",
        "--base-url", simulator_url, "--credential", f"refresh_token={REFRESH_TOKEN}",
        "--option", "colour=blue", env=env, cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 1
    assert "testcrm has no option colour; its options are: region" in added.stderr


def test_a_partial_sync_exits_2_and_names_the_failed_stream(
    env: dict[str, str], tmp_path: Path, simulator: Simulator, simulator_url: str
) -> None:
    connection = _add(env, tmp_path, simulator_url)
    simulator.broken["/v1/activities"] = "activities are being migrated"
    synced = crmkpi("sync", connection, env=env, cwd=tmp_path)
    assert synced.returncode == 2, synced.stderr
    assert "PARTIAL" in synced.stdout
    assert (
        "partial: stream activities failed: testcrm: HTTP 400 on /v1/activities: "
        "activities are being migrated"
    ) in " ".join(synced.stderr.split())
    as_json = crmkpi("sync", connection, "--json", env=env, cwd=tmp_path)
    assert as_json.returncode == 2
    result = json.loads(as_json.stdout)
    assert result["status"] == "PARTIAL" and result["exit_code"] == 2
    assert list(result["incomplete"]) == ["activities"]


def test_a_failed_sync_exits_1_and_check_says_the_credentials_were_refused(
    env: dict[str, str], tmp_path: Path, simulator_url: str
) -> None:
    connection = _add(env, tmp_path, simulator_url, token="wrong")
    synced = crmkpi("sync", connection, "--json", env=env, cwd=tmp_path)
    assert synced.returncode == 1
    assert json.loads(synced.stdout)["status"] == "FAILED"
    check = crmkpi("connection", "check", connection, env=env, cwd=tmp_path)
    assert check.returncode == 1
    assert "credentials refused" in check.stderr
    assert "wrong" not in check.stdout + check.stderr


def test_sync_help_documents_the_exit_status(env: dict[str, str], tmp_path: Path) -> None:
    helped = crmkpi("sync", "--help", env=env, cwd=tmp_path)
    text = " ".join(helped.stdout.split())
    assert "0 succeeded" in text and "2 partial" in text and "1 failed" in text
