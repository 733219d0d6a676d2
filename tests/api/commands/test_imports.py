"""`crmkpi import spend|visitors|surveys`: bad lines by number, all or nothing, idempotent."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.cli import crmkpi

SAMPLES = Path(__file__).parents[3] / "docs" / "samples"


def test_sample_files_import_twice_to_the_same_rows(
    workspace: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    ws, env = workspace
    for kind in ("spend", "visitors", "surveys"):
        sample = SAMPLES / f"{kind}.csv"
        data_lines = [line for line in sample.read_text().splitlines()[1:] if line.strip()]
        args = ("import", kind, "--workspace", ws, str(sample), "--json")
        result = crmkpi(*args, env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"kind": kind, "workspace": ws, "rows": len(data_lines)}
    again = crmkpi(
        "import", "spend", "--workspace", ws, str(SAMPLES / "spend.csv"), env=env, cwd=tmp_path
    )
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "rows: 10"


def test_a_bad_file_lists_its_lines_and_imports_nothing(
    workspace: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    ws, env = workspace
    bad = tmp_path / "spend.csv"
    bad.write_text("day,amount\n2026-03-01,10\n2026-03-32,5\n2026-03-03,-1\n")
    result = crmkpi("import", "spend", "--workspace", ws, str(bad), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert f"{bad}:3: day:" in result.stderr and f"{bad}:4: amount:" in result.stderr
    assert "2 bad line(s)" in result.stderr and "nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr
    good = tmp_path / "good.csv"
    good.write_text("day,amount\n2026-03-01,10\n")
    again = crmkpi("import", "spend", "--workspace", ws, str(good), "--json", env=env, cwd=tmp_path)
    assert json.loads(again.stdout)["rows"] == 1


def test_unknown_workspace_is_one_clear_line(
    workspace: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    _, env = workspace
    result = crmkpi(
        "import",
        "visitors",
        "--workspace",
        "ws_nope",
        str(SAMPLES / "visitors.csv"),
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 1 and "workspace 'ws_nope' not found" in result.stderr
