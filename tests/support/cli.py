"""`crmkpi` run in the test process: milliseconds, where a subprocess costs seconds.

The command runs exactly as from a shell (api.cli.main: its parsing, its own event loop,
engine and settings from the environment, its error lines and exit codes), only without
reconfiguring the process's logging. Call it from a thread when an event loop is running
(``asyncio.to_thread``): the command runs its own.
"""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import chdir, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from api.cli import main
from core.settings import get_settings


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> CliResult:
    """`crmkpi ARGS` with ``env`` added to the environment (in ``cwd``, if given)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with (
        mock.patch.dict(os.environ, env),
        redirect_stdout(stdout),
        redirect_stderr(stderr),
        chdir(cwd or Path.cwd()),
    ):
        get_settings.cache_clear()
        try:
            main(list(args), configure_logs=False)
        except SystemExit as exc:
            code = exc.code
        finally:
            get_settings.cache_clear()
    return CliResult(int(code or 0), stdout.getvalue(), stderr.getvalue())


async def run_cli_async(args: Sequence[str], env: Mapping[str, str]) -> CliResult:
    """``run_cli`` from a test with a running event loop (the command runs its own)."""
    return await asyncio.to_thread(run_cli, args, env)


def crmkpi(*args: str, env: Mapping[str, str], cwd: Path) -> CliResult:
    """tests.api.test_cli.crmkpi's call, in-process: from any test, sync or async (inside a
    running loop the command runs in a thread of its own, the loop waiting for it)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return run_cli(args, env, cwd)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run_cli, args, env, cwd).result()
