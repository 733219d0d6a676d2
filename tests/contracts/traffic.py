"""Every exchange of every CRM simulator in the test suite, checked against its CRM's contract.

Loaded as a pytest plugin by tests/conftest.py. It installs an observer
(core.simulation.observe) that wraps each HubSpot, Pipedrive and Salesforce simulator app
the test processes build, however it is served (a socket, httpx's ASGITransport), in
:class:`Checked` (one in a child process would not be seen: the suite starts none). Each
request's path, parameters and body and each answer's status, headers and body go through
the CRM's check (tests/contracts/<crm>). What breaks the
contract fails the test that caused it, with the exchange and the broken rule, at the end of
the phase (setup, call, teardown) it happened in.

The check runs before the answer's last bytes go out, so a client never holds an answer
whose verdict is not recorded yet. An answer cut short on purpose (``drop`` faults) has
nothing whole to check. A test that sends off-contract requests on purpose (probing the
simulator's refusals) says so with ``@pytest.mark.off_contract("why", expect=[...])``,
``expect`` naming each violation it provokes (a substring of the reported rule): those are
counted as expected, and nothing else is excused. Any other violation still fails the test,
and so does an expected one that no longer occurs (the probe stopped probing). The run's
summary line therefore shows how many violations were expected, and any unexplained one has
failed a test.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.simulation import observe
from tests.contracts.exchange import Exchange
from tests.contracts.hubspot import contract as hubspot
from tests.contracts.pipedrive import check as pipedrive
from tests.contracts.salesforce import contract as salesforce

Check = Callable[[Exchange], list[str]]
CHECKS: dict[str, Check] = {
    "hubspot": hubspot.check,
    "pipedrive": pipedrive.check,
    "salesforce": salesforce.check,
}
#: Violations shown in a failure message at the most (the rest are counted).
SHOWN = 12


@dataclass
class Traffic:
    """What the simulators of this process served: ``(crm, method, path)`` of each
    checked exchange, and each violation as ``crm METHOD path?query -> status: rule``."""

    exchanges: list[tuple[str, str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    #: Violations an ``off_contract`` test declared it provokes (the rest failed a test).
    expected: int = 0
    #: Time the checks took, what the suite pays for them.
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, crm: str, exchange: Exchange, problems: list[str], seconds: float) -> None:
        where = f"{crm} {exchange.method} {exchange.path}"
        if exchange.query:
            where += f"?{exchange.query[:200]}"
        with self.lock:
            self.exchanges.append((crm, exchange.method, exchange.path))
            self.seconds += seconds
            self.violations += [f"{where} -> {exchange.status}: {p}" for p in problems]


TRAFFIC = Traffic()


class Checked:
    """ASGI middleware: each exchange with ``app`` checked by ``CHECKS[crm]``; attributes
    not its own are the wrapped app's (``.state``, ``.injected``), so it is transparent."""

    def __init__(self, crm: str, app: Any, traffic: Traffic = TRAFFIC) -> None:
        self.crm = crm
        self.app = app
        self.traffic = traffic

    def __getattr__(self, name: str) -> Any:
        if name == "app":  # not set yet (a copy in the making): no endless lookup
            raise AttributeError(name)
        return getattr(self.app, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            b"",
        )

        async def receiving() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                exchange.body += message.get("body", b"")
            return message

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                exchange.status = int(message["status"])
                exchange.response_headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                }
            elif message["type"] == "http.response.body":
                exchange.response += message.get("body", b"")
                if not message.get("more_body"):
                    self._check(exchange)
            await send(message)

        await self.app(scope, receiving, sending)

    def _check(self, exchange: Exchange) -> None:
        announced = exchange.response_headers.get("content-length")
        if announced is not None and len(exchange.response) < int(announced):
            return  # cut short on purpose (a dropped connection): nothing whole to check
        started = time.perf_counter()
        key = _key(self.crm, exchange)
        problems = _VERDICTS.get(key)
        if problems is None:
            try:
                problems = CHECKS[self.crm](exchange)
            except Exception as exc:  # a broken check must fail the test, not the simulator
                problems = [f"the contract check itself failed: {exc!r}"]
            if len(_VERDICTS) >= _REMEMBERED:
                _VERDICTS.clear()
            _VERDICTS[key] = problems
        self.traffic.record(self.crm, exchange, problems, time.perf_counter() - started)


#: Verdicts of exchanges already checked: syncs read the same pages of the same seeded
#: datasets again and again, and a repeat needs no second JSON parse and validation.
_VERDICTS: dict[tuple[Any, ...], list[str]] = {}
_REMEMBERED = 50_000


def _key(crm: str, exchange: Exchange) -> tuple[Any, ...]:
    """All a check reads: the request and the answer (bodies by their hash), the answer's
    header names, content type and the request's authorization scheme (not the values of
    headers that change on every call, such as usage counters and request ids)."""
    headers = exchange.response_headers
    return (
        crm,
        exchange.method,
        exchange.path,
        exchange.query,
        exchange.headers.get("authorization", "").partition(" ")[0],
        hash(exchange.body),
        exchange.status,
        headers.get("content-type"),
        tuple(sorted(headers)),
        hash(exchange.response),
    )


def observer(crm: str, app: Any) -> Any:
    """The observer installed for the whole suite: CRMs without a contract pass unchecked."""
    return Checked(crm, app) if crm in CHECKS else app


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "off_contract(reason, expect): the test sends requests off the CRM's documented "
        "contract on purpose; the violations it provokes, each named by a substring in "
        "expect, do not fail it, any other does (tests/contracts/traffic.py)",
    )
    observe.add_observer(observer)


def pytest_unconfigure(config: pytest.Config) -> None:
    observe.remove_observer(observer)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """What the checks cost this process (under xdist, the controller serves nothing)."""
    if TRAFFIC.exchanges:
        terminalreporter.write_line(
            f"simulator contract: {len(TRAFFIC.exchanges)} exchanges checked in "
            f"{TRAFFIC.seconds:.2f} s, {len(TRAFFIC.violations)} violations "
            f"({TRAFFIC.expected} provoked on purpose by off_contract tests, "
            f"{len(TRAFFIC.violations) - TRAFFIC.expected} failed their test)"
        )


def _report(broken: list[str], phase: str) -> str:
    more = f"\n... and {len(broken) - SHOWN} more" if len(broken) > SHOWN else ""
    return (
        f"{len(broken)} simulator exchange(s) during {phase} break the CRM's documented "
        "contract (tests/contracts; fix the simulator to the spec, or the request):\n"
        + "\n".join(broken[:SHOWN])
        + more
    )


def _expected(item: pytest.Item) -> tuple[str, ...] | None:
    """The violations an ``off_contract`` test provokes on purpose; None if not marked."""
    marker = item.get_closest_marker("off_contract")
    if marker is None:
        return None
    expect = tuple(marker.kwargs.get("expect", ()))
    if not expect or not all(isinstance(e, str) and e for e in expect):
        pytest.fail(
            "off_contract needs expect=[...]: a substring of each violation the test "
            "provokes on purpose",
            pytrace=False,
        )
    return expect


def _unexplained(item: pytest.Item, broken: list[str]) -> list[str]:
    """The violations the item's ``off_contract`` marker does not name (all, unmarked)."""
    expect = _expected(item)
    if expect is None:
        return broken
    return [v for v in broken if not any(e in v for e in expect)]


def _verdict(item: pytest.Item, start: int, phase: str) -> None:
    broken = TRAFFIC.violations[start:]
    unexplained = _unexplained(item, broken)
    with TRAFFIC.lock:
        TRAFFIC.expected += len(broken) - len(unexplained)
    if unexplained:
        pytest.fail(_report(unexplained, phase), pytrace=False)
    expect = _expected(item) if phase == "the test" else None
    missing = [e for e in expect or () if not any(e in v for v in broken)]
    if missing:
        pytest.fail(
            "off_contract expects violation(s) the test no longer provokes (its off-contract "
            f"probe no longer reaches the simulator, or the contract changed): {missing}",
            pytrace=False,
        )


def _phase(item: pytest.Item, phase: str) -> Generator[None, None, None]:
    start = len(TRAFFIC.violations)
    try:
        yield
    except BaseException as failed:
        # The test failed on its own: say what the simulator broke too, it may be why.
        broken = _unexplained(item, TRAFFIC.violations[start:])
        if broken:
            failed.add_note(_report(broken, phase))
        raise
    _verdict(item, start, phase)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _phase(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _phase(item, "the test"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _phase(item, "teardown"))


class Window:
    """The traffic since a fixture started (see :func:`contract_traffic`)."""

    def __init__(self) -> None:
        self.start = len(TRAFFIC.exchanges)

    def exchanges(self, crm: str | None = None) -> list[tuple[str, str, str]]:
        return [e for e in TRAFFIC.exchanges[self.start :] if crm is None or e[0] == crm]


@pytest.fixture
def contract_traffic() -> Iterator[Window]:
    """The simulator exchanges checked during this test, for tests that must prove they
    exercised a simulator (a contract check of no traffic proves nothing)."""
    yield Window()
