"""The CSV reader every import shares: header checks, typed columns, errors by line.

A file is read whole before anything is written, so a bad row refuses the file instead of
leaving it half-imported; every bad row is reported (up to ``MAX_REPORTED``) with the line
a spreadsheet shows for it, so a user fixes the file in one pass.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from core import validation
from core.errors import ValidationError

#: Errors listed in full; the rest are only counted.
MAX_REPORTED = 50
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
#: Money columns are Numeric(20, 4): keep clear of the 16 integer digits.
_MAX_AMOUNT = Decimal("1e15")

Parser = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line of the file was refused (line 1 is the header)."""

    line: int
    reason: str


class ImportRejected(ValidationError):
    """The file was refused as a whole; nothing of it was written."""

    def __init__(self, kind: str, errors: Sequence[RowError], total: int | None = None) -> None:
        self.kind = kind
        self.errors = list(errors)
        self.total = total if total is not None else len(errors)
        shown = "; ".join(f"line {e.line}: {e.reason}" for e in self.errors[:5])
        more = f" (and {self.total - 5} more)" if self.total > 5 else ""
        super().__init__(f"{kind} import refused, nothing imported: {shown}{more}")


@dataclass(frozen=True, slots=True)
class Column:
    """One CSV column: a blank optional cell takes ``default`` before it is parsed."""

    name: str
    parse: Parser
    required: bool = True
    default: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    line: int
    values: dict[str, Any]


#: A check across the columns of one parsed row; raises ValueError with the reason.
RowCheck = Callable[[dict[str, Any]], None]


def read_rows(
    kind: str,
    text: str,
    columns: Sequence[Column],
    key: Sequence[str],
    check: RowCheck | None = None,
) -> list[Row]:
    """Parse ``text`` into rows, or raise ImportRejected listing every bad line.

    Headers are matched case-insensitively; an unknown header is an error (a typo would
    otherwise silently drop a column), and two rows with the same ``key`` are an error
    (the second would silently overwrite the first).
    """
    text = text.removeprefix("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:  # SQLite would store it, PostgreSQL refuses it: refused on both
        line = text.count("\n", 0, nul) + 1
        raise ImportRejected(kind, [RowError(line, "contains a NUL character")])
    # newline="": the csv module itself splits lines, so CRLF, LF and a bare CR all end one
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _read(kind, reader, columns, key, check)
    except csv.Error as exc:  # a field over the csv module's limit, a stray quote, ...
        raise ImportRejected(kind, [RowError(reader.line_num or 1, _csv_reason(exc))]) from None


def _csv_reason(exc: csv.Error) -> str:
    message = str(exc)
    if "field larger than field limit" in message:
        return f"a value is longer than {csv.field_size_limit():,} characters"
    return f"not readable as CSV ({message})"


def _read(
    kind: str,
    reader: Any,
    columns: Sequence[Column],
    key: Sequence[str],
    check: RowCheck | None,
) -> list[Row]:
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise ImportRejected(kind, [RowError(1, "the file is empty: a header line is needed")])
    names = [h.strip().lower() for h in header]
    _check_header(kind, names, columns)
    by_name = {c.name: c for c in columns}
    errors: list[RowError] = []
    total_errors = 0
    rows: list[Row] = []
    seen: dict[tuple[Any, ...], int] = {}
    line = reader.line_num
    for cells in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        try:
            values = _parse_cells(names, cells, by_name)
            if check is not None:
                check(values)
            identity = tuple(values[k] for k in key)
            if identity in seen:
                raise ValueError(f"same {', '.join(key)} as line {seen[identity]}")
            seen[identity] = start
            rows.append(Row(start, values))
        except ValueError as exc:
            total_errors += 1
            if len(errors) < MAX_REPORTED:
                errors.append(RowError(start, str(exc)))
    if total_errors:
        raise ImportRejected(kind, errors, total_errors)
    if not rows:
        raise ImportRejected(kind, [RowError(2, "no data rows after the header")])
    return rows


def _check_header(kind: str, names: list[str], columns: Sequence[Column]) -> None:
    known = {c.name for c in columns}
    problems = [f"unknown column {n!r}" for n in names if n not in known]
    problems += [f"column {n!r} appears twice" for n in sorted(set(names)) if names.count(n) > 1]
    problems += [
        f"missing column {c.name!r}" for c in columns if c.required and c.name not in names
    ]
    if problems:
        expected = ", ".join(c.name for c in columns)
        raise ImportRejected(kind, [RowError(1, f"{'; '.join(problems)} (columns: {expected})")])


def _parse_cells(names: list[str], cells: list[str], columns: dict[str, Column]) -> dict[str, Any]:
    if len(cells) > len(names):
        raise ValueError(f"{len(cells)} values for {len(names)} columns")
    raw = {n: (cells[i].strip() if i < len(cells) else "") for i, n in enumerate(names)}
    values: dict[str, Any] = {}
    for column in columns.values():
        cell = raw.get(column.name, "")
        if not cell:
            if column.required:
                raise ValueError(f"{column.name} is required")
            cell = column.default
        try:
            values[column.name] = column.parse(cell)
        except (ValueError, ValidationError) as exc:
            raise ValueError(f"{column.name}: {exc}") from None
    return values


# -- parsers: each raises ValueError with a reason a user can act on ----------------------


def day(value: str) -> date:
    """An ISO date, ``2026-03-31``."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date: use YYYY-MM-DD") from None


def timestamp(value: str) -> datetime:
    """An ISO 8601 date or date-time; naive values are made local by the caller."""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a date-time: use ISO 8601") from None


def amount(value: str) -> Decimal:
    """A non-negative decimal with a point and no thousands separator."""
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number (use 1234.50, no separators)") from None
    if not number.is_finite() or number < 0 or number >= _MAX_AMOUNT:
        raise ValueError(f"{value!r} must be between 0 and {_MAX_AMOUNT:,.0f}")
    return number.quantize(Decimal("0.0001"))


def count(value: str) -> int:
    """A non-negative whole number."""
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{value!r} must not be negative")
    return number


def choice(*allowed: str) -> Parser:
    """One of ``allowed``, case-insensitively; stored upper-case."""

    def parse(value: str) -> str:
        upper = value.upper()
        if upper not in allowed:
            raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
        return upper

    return parse


def text(max_length: int) -> Parser:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"longer than {max_length} characters")
        return value

    return parse


def optional_text(max_length: int) -> Parser:
    """Like ``text``, but a blank cell is stored as NULL."""
    parse_text = text(max_length)

    def parse(value: str) -> str | None:
        return parse_text(value) or None

    return parse


def email(value: str) -> str | None:
    if not value:
        return None
    if len(value) > 300 or not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an e-mail address")
    return value.lower()


def currency(value: str) -> str | None:
    """An ISO 4217 code, or None: the workspace's currency is used."""
    return validation.currency(value.upper()) if value else None
