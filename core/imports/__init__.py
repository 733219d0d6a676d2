"""Imports of what CRMs do not hold: spend, website visitors, survey responses (CSV).

Each kind is declared as data (``ImportKind``) and imported by one routine, ``import_csv``:
the whole file is validated first (every bad line reported with its number and reason),
then upserted on the table's unique key, so re-importing a file changes nothing.
"""

from __future__ import annotations

from core.errors import ValidationError
from core.imports._csv import ImportRejected, RowError
from core.imports.kind import ImportKind, ImportResult, import_csv
from core.imports.spend import SPEND
from core.imports.surveys import SURVEYS
from core.imports.visitors import VISITORS

#: Every import kind by the name the CLI and GraphQL use.
IMPORT_KINDS: dict[str, ImportKind] = {k.name: k for k in (SPEND, VISITORS, SURVEYS)}


def import_kind(name: str) -> ImportKind:
    try:
        return IMPORT_KINDS[name]
    except KeyError:
        known = ", ".join(IMPORT_KINDS)
        raise ValidationError(f"unknown import kind {name!r}: use one of {known}") from None


__all__ = [
    "IMPORT_KINDS",
    "ImportKind",
    "ImportRejected",
    "ImportResult",
    "RowError",
    "import_csv",
    "import_kind",
]
