"""The ``crmkpi`` console script: the command's start-up, then :func:`api.cli.main`.

Why a module of its own: the start-up's imports (api.cli and the modules of every command,
about a million long-lived objects) run under :func:`core.startup.quiet_imports`, which
freezes the heap they leave. Only a crmkpi process should do that; a process that imports
api.cli to run commands in-process (the tests' workers: tests.support.cli) keeps its heap
as it is.
"""

from __future__ import annotations

from core.startup import quiet_imports


def main() -> None:
    """``crmkpi``: the start-up's imports quietly (core.startup), then the command."""
    with quiet_imports():
        from api.cli import main as run_command
    run_command()


if __name__ == "__main__":
    main()
