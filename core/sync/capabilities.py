"""What a CRM account offers: optional objects, endpoints, permissions, features.

CRM accounts differ by plan, edition and permissions: a HubSpot portal without Sales Hub
Pro has no Leads object, a single-currency Salesforce org has no ``CurrencyType``. A
connector discovers these at ``connection add``, ``verifyCredentials``, ``crmkpi
connection check`` and the start of every full sync (``Connector.discover``); the result
is stored on the connection (``connections.capabilities``) and handed to streams as
``StreamContext.capabilities``. A stream that needs a missing capability is SKIPPED (not a
failure), and KPIs that depend on it answer null with a reason naming it
(core.metrics.capability_gate).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.sync.errors import SyncError


class CapabilityStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    UNAVAILABLE = "UNAVAILABLE"
    #: Not discovered (yet), or the discovery call failed for a transient reason.
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class Capability:
    """One thing an account may or may not offer, and what depends on it.

    ``streams`` are skipped while it is unavailable; ``kpis`` (KPI field names) answer
    null with a reason naming it when it is unavailable on every connection in scope.
    """

    key: str
    title: str
    status: CapabilityStatus
    reason: str | None = None
    streams: tuple[str, ...] = ()
    kpis: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        """True unless known to be missing (UNKNOWN counts as available: try it)."""
        return self.status is not CapabilityStatus.UNAVAILABLE

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status.value,
            "reason": self.reason,
            "streams": list(self.streams),
            "kpis": list(self.kpis),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Capability:
        try:
            status = CapabilityStatus(str(data.get("status", "UNKNOWN")))
        except ValueError:
            status = CapabilityStatus.UNKNOWN
        reason = data.get("reason")
        return cls(
            key=str(data["key"]),
            title=str(data.get("title") or data["key"]),
            status=status,
            reason=None if reason is None else str(reason),
            streams=tuple(str(s) for s in data.get("streams") or ()),
            kpis=tuple(str(k) for k in data.get("kpis") or ()),
        )

    def describe(self) -> str:
        """One line a person can act on: "Leads object: not available (HTTP 404)"."""
        if self.status is CapabilityStatus.AVAILABLE:
            return f"{self.title}: available"
        if self.status is CapabilityStatus.UNKNOWN:
            return f"{self.title}: unknown" + (f" ({self.reason})" if self.reason else "")
        return f"{self.title}: {self.reason or 'not available'}"


class Capabilities(Mapping[str, Capability]):
    """The capabilities of one connection by key (immutable; ``with_`` returns a copy)."""

    __slots__ = ("_items", "checked_at")

    def __init__(
        self, items: Iterable[Capability] = (), *, checked_at: datetime | None = None
    ) -> None:
        self._items: dict[str, Capability] = {c.key: c for c in items}
        self.checked_at = checked_at

    def __getitem__(self, key: str) -> Capability:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Capabilities({list(self._items.values())!r})"

    def available(self, key: str) -> bool:
        """True unless ``key`` is known to be UNAVAILABLE (unknown keys are available)."""
        found = self._items.get(key)
        return found is None or found.available

    def unavailable(self) -> list[Capability]:
        return [c for c in self._items.values() if not c.available]

    def with_(self, capability: Capability) -> Capabilities:
        """A copy with ``capability`` added or replacing the one of the same key. A known
        capability keeps its title, streams and kpis when the new one leaves them empty."""
        old = self._items.get(capability.key)
        if old is not None:
            capability = replace(
                capability,
                title=capability.title if capability.title != capability.key else old.title,
                streams=capability.streams or old.streams,
                kpis=capability.kpis or old.kpis,
            )
        return Capabilities(
            [*(c for k, c in self._items.items() if k != capability.key), capability],
            checked_at=self.checked_at,
        )

    def merged(self, others: Iterable[Capability]) -> Capabilities:
        result = self
        for capability in others:
            result = result.with_(capability)
        return result

    def to_json(self) -> list[dict[str, Any]]:
        return [c.to_json() for c in self._items.values()]

    @classmethod
    def from_json(cls, data: Any, *, checked_at: datetime | None = None) -> Capabilities:
        """Parse what ``to_json`` stored; None or anything malformed gives no capabilities."""
        if not isinstance(data, list):
            return cls(checked_at=checked_at)
        items = []
        for entry in data:
            if isinstance(entry, Mapping) and "key" in entry:
                items.append(Capability.from_json(entry))
        return cls(items, checked_at=checked_at)


class CapabilityUnavailable(SyncError):
    """The account lacks capability ``key``: raised by a stream or by the HTTP layer (a
    request with ``Request.capability`` answered "not on this account"). The runner marks
    the stream SKIPPED with ``reason`` and stores the capability as UNAVAILABLE; the run
    is not partial because of it. Never retried."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason
