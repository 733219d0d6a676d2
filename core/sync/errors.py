"""Errors of the sync engine, each with a message safe to show as it is.

::

    CrmkpiError
     └── SyncError                 a sync could not run or a stream could not finish
          ├── SyncAlreadyRunning   another worker holds the connection's sync lock
          ├── AuthFailed           the CRM refused the credentials, even after a refresh
          ├── RequestFailed        a non-retryable HTTP answer, or retries exhausted
          ├── UnknownConnector     the connection names a connector no plugin provides
          ├── QuotaExhausted       the daily API budget is used up: stop, resume later
          └── CapabilityUnavailable  the account lacks an optional object/feature (capabilities.py)
    MappingError (ValueError)      a raw record cannot be mapped: it is quarantined

Messages never contain credentials: they name the connection, the stream or the URL path.
"""

from __future__ import annotations

from core.errors import CrmkpiError


class SyncError(CrmkpiError):
    pass


class SyncAlreadyRunning(SyncError):
    pass


class AuthFailed(SyncError):
    pass


class RequestFailed(SyncError):
    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class UnknownConnector(SyncError):
    pass


class QuotaExhausted(SyncError):
    """The account's daily API budget is used up (or down to its reserve): the run stops
    cleanly and the next one resumes from the saved cursors."""


class MappingError(ValueError):
    """A raw record cannot be mapped; the engine quarantines it with this message."""
