"""The REST paths of one API version and the bulk threshold: one immutable value per run.

Built from the connection's options (``api_version``, ``bulk_threshold``; legacy
connections carried them as credentials) by the run state (connectors.salesforce.state).
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.salesforce import settings


@dataclass(frozen=True, slots=True)
class ApiPaths:
    version: str = settings.API_VERSION
    #: A full read of more rows than this goes through Bulk API 2.0 instead of REST pages.
    bulk_threshold: int = settings.BULK_THRESHOLD

    def data(self, suffix: str) -> str:
        return f"/services/data/v{self.version}{suffix}"
