"""Errors the domain raises for callers to show as one clear line.

::

    CrmkpiError
     ├── ConfigurationError   bad settings, database URL, missing secret key
     ├── NotFoundError        unknown id, or an id outside the caller's workspaces
     └── ValidationError      bad input (dates, currencies, CSV rows, ...)
"""

from __future__ import annotations


class CrmkpiError(Exception):
    """Base of errors whose message is safe to show to the user as it is."""


class ConfigurationError(CrmkpiError):
    pass


class NotFoundError(CrmkpiError):
    pass


class ValidationError(CrmkpiError):
    pass
