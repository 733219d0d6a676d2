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
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from unittest import mock

from api.cli import main
from core.settings import get_settings


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], env: Mapping[str, str]) -> CliResult:
    """`crmkpi ARGS` with ``env`` added to the environment."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with mock.patch.dict(os.environ, env), redirect_stdout(stdout), redirect_stderr(stderr):
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
