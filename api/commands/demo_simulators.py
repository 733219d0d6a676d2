"""The demo's CRM simulators, each in a process of its own.

In the demo process they competed with the sync for one interpreter lock: a simulator
rendering pages and the engine mapping them took turns on one core while the other idled.
As ``crmkpi simulate`` subprocesses they run beside the sync, and they stop with the demo.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from core.errors import ConfigurationError

#: Generating a simulator's dataset takes a few seconds; this is the patience for it.
START_TIMEOUT_S = 120.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@contextlib.contextmanager
def simulators(plan: list[tuple[str, int, int]]) -> Iterator[dict[str, str]]:
    """Start ``(connector, seed, deals)`` simulators at once; yield their base URLs."""
    started: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for connector, seed, deals in plan:
            port = _free_port()
            command = [sys.executable, "-c", "from api.cli import main; main()", "simulate"]
            command += [connector, "--port", str(port), "--seed", str(seed)]
            command += ["--deals", str(deals)]
            process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            started[connector] = (process, port)
        deadline = time.monotonic() + START_TIMEOUT_S
        for connector, (process, port) in started.items():
            while not _listening(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise ConfigurationError(f"the {connector} simulator did not start")
                time.sleep(0.1)
        yield {connector: f"http://127.0.0.1:{port}" for connector, (_, port) in started.items()}
    finally:
        for process, _ in started.values():
            process.terminate()
        for process, _ in started.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
