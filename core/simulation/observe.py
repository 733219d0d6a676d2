"""Observers of every exchange a CRM simulator serves, installed from outside the product.

Each simulator passes its app (and the fault layer its injected answers) through
:func:`observed` with its CRM's name. With no observer installed that returns the app
itself, so ``crmkpi simulate`` pays nothing; the test suite installs one that checks every
request and answer against the CRM's documented contract (tests/contracts), so a simulator
drifting from the real API fails whichever test exercised the drift. The hook lives here,
not in the tests, because product code must never import tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
#: ``observer(crm, app) -> app``: wraps a simulator's ASGI app (or returns it unchanged).
Observer = Callable[[str, Any], Any]

_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Wrap every simulator app built from now on (apps already built keep their wrapping)."""
    _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    _observers.remove(observer)


def observed(crm: str, app: Any) -> Any:
    """``app`` wrapped by every installed observer (innermost first); ``app`` when none."""
    for observer in _observers:
        app = observer(crm, app)
    return app
