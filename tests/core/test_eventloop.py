"""core.eventloop: commands run on uvloop where it is installed (it is a dependency here),
and on asyncio's own loop when CRMKPI_EVENT_LOOP=asyncio asks for it."""

from __future__ import annotations

import asyncio

import pytest

from api.commands.common import run as run_command
from core import eventloop


async def _loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


def test_a_command_runs_on_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(eventloop.LOOP_VARIABLE, raising=False)
    assert run_command(_loop_module()).startswith("uvloop")


def test_the_variable_asks_for_asyncios_own_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(eventloop.LOOP_VARIABLE, " AsyncIO ")
    assert run_command(_loop_module()) == "asyncio.unix_events"


def test_run_returns_the_result_and_raises_the_error() -> None:
    async def fail() -> None:
        raise LookupError("kept")

    assert eventloop.run(asyncio.sleep(0, result=7)) == 7
    with pytest.raises(LookupError, match="kept"):
        eventloop.run(fail())
