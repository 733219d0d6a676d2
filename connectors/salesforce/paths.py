"""The per-connection options every Salesforce request depends on: API version, bulk threshold."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.salesforce import settings


@dataclass(slots=True)
class ApiPaths:
    """REST paths of one API version, and the bulk threshold, shared by a connector and its
    streams.

    The connector sets ``version`` (``api_version`` credential) and ``bulk_threshold``
    (``bulk_threshold`` credential) when it authenticates, before any stream builds a request.
    """

    version: str = settings.API_VERSION
    #: A full read of more rows than this goes through Bulk API 2.0 instead of REST pages.
    bulk_threshold: int = settings.BULK_THRESHOLD

    def data(self, suffix: str) -> str:
        return f"/services/data/v{self.version}{suffix}"
