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

from collections.abc import Mapping

import httpx

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


def json_error_message(response: httpx.Response) -> str | None:
    """``message``/``error``/``error_description`` of a JSON error body (or of its first
    element or ``errors[0]``), flattened to one line of at most 300 characters."""
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, Mapping) and isinstance(body.get("errors"), list) and body["errors"]:
        first = body["errors"][0]
        body = first if isinstance(first, Mapping) else body
    if not isinstance(body, Mapping):
        return None
    for key in ("message", "error_description", "error"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            return text if len(text) <= 300 else text[:299] + "…"
    return None
