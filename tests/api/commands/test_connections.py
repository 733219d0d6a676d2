"""`crmkpi connection add --lookback-minutes` and `crmkpi connection lookback`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.secrets import ensure_key_file
from tests.support.cli import crmkpi


@pytest.fixture
def env(workspace: tuple[str, dict[str, str]], tmp_path: Path) -> dict[str, str]:
    key_file = tmp_path / "secret.key"
    ensure_key_file(key_file)
    return {**workspace[1], "CRMKPI_SECRET_KEYS_FILE": str(key_file)}


def test_lookback_is_set_at_creation_then_changed(
    workspace: tuple[str, dict[str, str]], env: dict[str, str], tmp_path: Path
) -> None:
    add = ("connection", "add", "--workspace", workspace[0], "--connector", "hubspot")
    token = ("--credential", "access_token=pat-test", "--json")
    default = json.loads(crmkpi(*add, *token, env=env, cwd=tmp_path).stdout)
    assert default["lookback_minutes"] == 10
    added = crmkpi(*add, *token, "--lookback-minutes", "45", env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    connection = json.loads(added.stdout)
    assert connection["lookback_minutes"] == 45

    changed = crmkpi(
        "connection", "lookback", connection["id"], "0", "--json", env=env, cwd=tmp_path
    )
    assert changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout) == {"id": connection["id"], "lookback_minutes": 0}

    bad = crmkpi("connection", "lookback", connection["id"], "20000", env=env, cwd=tmp_path)
    assert bad.returncode == 1 and "between 0 and 10080 minutes" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = crmkpi("connection", "lookback", "conn_nope", "5", env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "not found" in missing.stderr
