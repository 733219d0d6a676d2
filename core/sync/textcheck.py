"""Text a database cannot store: found at mapping time so the record is quarantined, not fatal.

A CRM can serve JSON that decodes to Python strings the databases refuse: lone UTF-16
surrogates (``"\\ud800"`` escapes; not encodable as UTF-8), NUL characters (refused in
PostgreSQL text), and strings longer than their column (PostgreSQL ``varchar(n)``; SQLite
would store them, so both backends apply the column's length). Written as is, one such
record fails its whole batch and stream. The check runs on every mapped record, so it stays
cheap: ASCII strings without NUL (nearly all of them) cost one ``isascii`` and one ``in``;
nested values (``remote_data``, ``custom``) are encoded once by orjson and the bytes
searched, and walked item by item only when that finds something suspect (this was a
third of a HubSpot sync's CPU when every item was checked in Python).

Even so, a field-by-field check of every record cost more than mapping it (a fifth of a
test-CRM sync's CPU). :func:`page_storable` therefore clears a whole page at once, column
by column, with passes that run in C (the set of a column's types, one join of its texts,
one encoding of its nested values); only a page it cannot clear is checked record by record
with :func:`unstorable_text`, which names the record and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

import orjson

from core.models import SYNCED_MODELS
from core.sync.records import by_type

_FIELDS: dict[type[Any], tuple[tuple[str, int | None], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[str, int | None], ...]:
    """(field, column length or None) of a slotted record class; cached per class."""
    fields = _FIELDS.get(cls)
    if fields is None:
        model = SYNCED_MODELS.get(getattr(cls, "record_type", ""))
        columns = model.__table__.c if model is not None else {}  # type: ignore[attr-defined]
        names = [n for k in cls.__mro__ for n in getattr(k, "__slots__", ())]
        fields = tuple(
            (n, getattr(columns[n].type, "length", None) if n in columns else None) for n in names
        )
        _FIELDS[cls] = fields
    return fields


#: Types whose values never hold text (bool and the enums' int values are ints).
_INERT = (type(None), int, float, Decimal, datetime, date)
_NESTED = (type(None), dict, list, tuple)
_GETTERS: dict[type[Any], Any] = {}


def _getter(cls: type[Any]) -> Any:
    """Every checked field of a record class in one C call, always as a tuple."""
    getter = _GETTERS.get(cls)
    if getter is None:
        names = [name for name, _ in _fields(cls)]
        if len(names) > 1:
            getter = attrgetter(*names)
        else:
            one = attrgetter(*names) if names else (lambda r: None)
            getter = (lambda r: (one(r),)) if names else (lambda r: ())
        _GETTERS[cls] = getter
    return getter


def _nested_problem(value: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> str | None:
    """A dict or list's problem; one C-encoded pass clears the usual clean value.

    orjson refuses lone surrogates (not UTF-8) and escapes NUL as ``\\u0000``; what it
    refuses for any reason (also Decimals, non-string keys) is walked item by item.
    """
    try:
        data = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _walk(value)
    if b"\\u0000" not in data:
        return None
    # A NUL, or a literal backslash-u0000 in some text: find out exactly.
    return _walk(value)


def _text_problem(value: Any) -> str | None:
    if isinstance(value, dict | list | tuple):
        return _nested_problem(value)
    return _walk(value)


def _walk(value: Any) -> str | None:
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "is not valid Unicode (lone surrogate)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _walk(key) or _walk(item)
            if problem:
                return problem
    elif isinstance(value, list | tuple):
        for item in value:
            problem = _walk(item)
            if problem:
                return problem
    return None


def unstorable_text(record: Any) -> str | None:
    """Why ``record`` (a slotted record) cannot be stored, or None when it can."""
    for name, length in _fields(type(record)):
        value = getattr(record, name, None)
        if value is None:
            continue
        if isinstance(value, str):
            if length is not None and len(value) > length:
                return f"field {name} is {len(value):,} characters long, more than its {length}"
            if "\x00" not in value and value.isascii():  # the usual case, inline
                continue
        problem = _text_problem(value)
        if problem:
            return f"field {name} {problem}"
    return None


def storable(raw: Any) -> Any:
    """``raw`` with unstorable text escaped, so that the quarantine row itself can be written."""
    if isinstance(raw, str):
        if "\x00" in raw or not raw.isascii():
            return raw.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
        return raw
    if isinstance(raw, dict):
        return {storable(k): storable(v) for k, v in raw.items()}
    if isinstance(raw, list | tuple):
        return [storable(v) for v in raw]
    return raw


def page_storable(records: Sequence[Any], *, text_clean: bool = False) -> bool:
    """True when no record of ``records`` has unstorable text; False when one may have
    (then :func:`unstorable_text` finds which). Checks each field of each record class
    over the whole page at once.

    ``text_clean``: the text the records were mapped from is known to hold no NUL and no
    lone surrogate (``SyncHttp.text_clean``: every body decoded was searched for the
    escapes that make them). Only the columns with a length are checked then; the nested
    values and unbounded text, most of a check's cost, are not read at all.
    """
    try:
        for cls, group in by_type(records).items():
            if text_clean:
                # A column at a time (one C pass each): no tuple per record to transpose.
                for get, length in _bounded(cls):
                    if not _column_fits(list(map(get, group)), length):
                        return False
                continue
            columns = zip(*map(_getter(cls), group), strict=True)
            for (_, length), column in zip(_fields(cls), columns, strict=True):
                if not _column_storable(column, length):
                    return False
    except AttributeError:  # a slot left unset: let the record-by-record check decide
        return False
    return True


_BOUNDED: dict[type[Any], tuple[tuple[Any, int | None], ...]] = {}


def _bounded(cls: type[Any]) -> tuple[tuple[Any, int | None], ...]:
    """(getter, column length) of each field of a record class with a column length
    (none: empty). Cached per class."""
    bounded = _BOUNDED.get(cls)
    if bounded is None:
        bounded = _BOUNDED[cls] = tuple(
            (attrgetter(name), length) for name, length in _fields(cls) if length is not None
        )
    return bounded


def _column_storable(column: Sequence[Any], length: int | None) -> bool:
    kinds = set(map(type, column))
    if all(issubclass(kind, _INERT) for kind in kinds):
        return True
    if all(issubclass(kind, str) or kind is type(None) for kind in kinds):
        texts = list(filter(None, column))
        if length is not None and texts and max(map(len, texts)) > length:
            return False
        joined = "".join(texts)
        return "\x00" not in joined and (joined.isascii() or _encodable(joined))
    if all(issubclass(kind, _NESTED) for kind in kinds):
        return _nested_problem(list(column)) is None
    return False


def _column_fits(column: Sequence[Any], length: int | None) -> bool:
    """A bounded column of clean text: every value fits its length. A column that holds
    values other than text (a ``join`` refuses them) is left to :func:`_column_storable`;
    empty and falsy values hold no text and are skipped (they are storable either way).
    One ``join`` proves the values text: cheaper than collecting their types."""
    texts = list(filter(None, column))
    try:
        "".join(texts)
    except TypeError:
        return _column_storable(column, length)
    return length is None or max(map(len, texts), default=0) <= length


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
