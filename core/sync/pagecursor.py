"""A page's cursor: the highest ``Stream.cursor_of`` of its raw records.

The engine saves it with the page (``cursor_ordered`` streams) or once the read ends
(core.sync.streams.CursorTracker). Reading every record's cursor is a parse and an object
per record; the two ways around it are here: an ordered stream's page ends with its
highest, and a :class:`FindsHighestCursor` stream finds it from the text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import InvalidOperation
from operator import attrgetter
from typing import Any, Protocol, TypeGuard, runtime_checkable

from core.sync.connector import Cursor, MappingError, Stream

#: What a broken raw record may raise while mapped: quarantined, never fatal to the run.
MAPPING_FAILURES = (MappingError, KeyError, TypeError, ValueError, InvalidOperation, IndexError)


def page_cursor(stream: Stream, raws: Sequence[Mapping[str, Any]]) -> Cursor | None:
    """The page's highest cursor. A ``cursor_ordered`` stream's is its last record's (the
    first readable from the end): reading every record's cost a twentieth of a sync's CPU.
    Were a CRM to break the order, that cursor would be lower than the highest: the next
    run would read some records again, never skip one. A :class:`FindsHighestCursor`
    stream finds it itself; other streams' are compared by :func:`highest_cursor`."""
    cursor_of = stream.cursor_of
    if stream.cursor_ordered:
        for raw in reversed(raws):
            try:
                cursor = cursor_of(raw)
            except MAPPING_FAILURES:
                continue
            if cursor is not None:
                return cursor
        return None
    if _finds_highest_cursor(stream):
        return stream.highest_cursor(raws)
    return highest_cursor(stream, raws)


@runtime_checkable
class FindsHighestCursor(Protocol):
    """A stream that finds the highest of a page's cursors without reading each one (its
    cursors compare as the text they are read from, say), and answers exactly what
    :func:`highest_cursor` would; it may call that for pages it cannot read so."""

    def highest_cursor(self, raws: Sequence[Mapping[str, Any]]) -> Cursor | None: ...


_FINDS_HIGHEST: dict[type[Any], bool] = {}


def _finds_highest_cursor(stream: Any) -> TypeGuard[FindsHighestCursor]:
    """``isinstance(stream, FindsHighestCursor)``, known per class: a protocol's check
    inspects the class every time (half of a page cursor's cost)."""
    kind = type(stream)
    finds = _FINDS_HIGHEST.get(kind)
    if finds is None:
        finds = _FINDS_HIGHEST[kind] = isinstance(stream, FindsHighestCursor)
    return finds


def highest_cursor(stream: Stream, raws: Sequence[Mapping[str, Any]]) -> Cursor | None:
    """The highest ``cursor_of`` of ``raws`` (None: none has one; unreadable ones are
    skipped): compared by their cursors' ordering fields in C (the first of equal ones
    wins, as in ``>``)."""
    cursor_of = stream.cursor_of
    cursors: list[Cursor] = []
    for raw in raws:
        try:
            cursor = cursor_of(raw)
        except MAPPING_FAILURES:
            continue
        if cursor is not None:
            cursors.append(cursor)
    return max(cursors, key=_CURSOR_ORDER) if cursors else None


#: What orders cursors (``Cursor``'s compared fields, in order; ``resume`` is not one).
_CURSOR_ORDER = attrgetter("updated_at", "remote_id")
