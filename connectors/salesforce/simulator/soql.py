"""The SOQL subset the simulator answers, with Salesforce's own error codes.

``SELECT field, ... | COUNT() [, (SELECT f FROM ChildRelationship [ORDER BY f])] FROM Object
[WHERE field op literal [AND ...]] [ORDER BY field [ASC|DESC], ...] [LIMIT n]``.
Datetime literals are compared on the canonical ``...000+0000`` text rows carry, so a
filter over many rows stays a string comparison.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce.simulator.tables import Table, stamp

_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|('(?:[^'\\]|\\.)*')|(>=|<=|!=|<>|=|<|>)|([\w.:+\-]+))")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<>": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class SoqlError(Exception):
    """A query Salesforce would refuse: ``errorCode`` and message as the API sends them."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Query:
    sobject: str
    fields: list[str]
    children: list[Query] = field(default_factory=list)
    where: list[tuple[str, str, Any]] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    #: ``SELECT COUNT() FROM ...``: the answer is ``totalSize`` with no records.
    count: bool = False
    #: The WHERE clause compiled against the object's field types (set by ``validate``).
    tests: list[tuple[str, Callable[[Any, Any], bool], Any]] = field(default_factory=list)

    @property
    def signature(self) -> str:
        """What shapes a projected row: the object, its fields and the child subqueries."""
        children = ";".join(
            f"{c.sobject}:{','.join(c.fields)}:{c.where}:{c.order_by}" for c in self.children
        )
        return f"{self.sobject}|{','.join(self.fields)}|{children}"


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{text[pos : pos + 20]}'")
        tokens.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise SoqlError("MALFORMED_QUERY", "unexpected end of query")
        self.pos += 1
        return token

    def keyword(self, *words: str) -> bool:
        upcoming = self.tokens[self.pos : self.pos + len(words)]
        if [t.upper() for t in upcoming] == list(words):
            self.pos += len(words)
            return True
        return False

    def expect(self, *words: str) -> None:
        if not self.keyword(*words):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.peek()}'")

    def query(self) -> Query:
        self.expect("SELECT")
        fields: list[str] = []
        children: list[Query] = []
        count = self.keyword("COUNT", "(", ")")
        while not count:
            if self.peek() == "(":
                self.take()
                children.append(self.query())
                if self.take() != ")":
                    raise SoqlError("MALFORMED_QUERY", "unbalanced parentheses")
            else:
                fields.append(self.take())
            if self.peek() != ",":
                break
            self.take()
        self.expect("FROM")
        query = Query(self.take(), fields, children, count=count)
        if self.keyword("WHERE"):
            while True:
                name, op, value = self.take(), self.take(), self.take()
                if op not in _OPS:
                    raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op}'")
                query.where.append((name, op, value))
                if not self.keyword("AND"):
                    break
        if self.keyword("ORDER", "BY"):
            while True:
                name = self.take()
                desc = self.keyword("DESC")
                if not desc:
                    self.keyword("ASC")
                query.order_by.append((name, desc))
                if self.peek() != ",":
                    break
                self.take()
        if self.keyword("LIMIT"):
            limit = self.take()
            if not limit.isdigit():
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{limit}'")
            query.limit = int(limit)
        return query


def parse(text: str) -> Query:
    parser = _Parser(_tokens(text))
    query = parser.query()
    if parser.peek() is not None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{parser.peek()}'")
    return query


def _no_column(name: str, sobject: str) -> SoqlError:
    return SoqlError(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a custom "
        "field, be sure to append the '__c' after the custom field name. Please reference your "
        "WSDL or the describe call for the appropriate names.",
    )


def unsupported(sobject: str) -> SoqlError:
    return SoqlError(
        "INVALID_TYPE",
        f"sObject type '{sobject}' is not supported. If you are attempting to use a custom "
        "object, be sure to append the '__c' after the entity name. Please reference your WSDL "
        "or the describe call for the appropriate names.",
    )


def literal_value(raw: str, kind: str, name: str) -> Any:
    """A literal in the form rows store values of type ``kind``."""
    lowered = raw.lower()
    if lowered == "null":
        return None
    if kind == "boolean":
        if lowered not in ("true", "false"):
            raise SoqlError(
                "INVALID_FIELD",
                f"value of filter criterion for field '{name}' must be of type boolean",
            )
        return lowered == "true"
    if raw.startswith("'"):
        return raw[1:-1].replace("\\'", "'").replace("\\\\", "\\")
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError as exc:
            raise SoqlError("MALFORMED_QUERY", f"line 1: invalid datetime: {raw}") from exc
        if parsed.tzinfo is None:
            raise SoqlError("MALFORMED_QUERY", f"line 1: invalid datetime: {raw}")
        return stamp(parsed.astimezone(UTC))
    if kind in ("double", "currency", "percent", "int"):
        try:
            return float(raw)
        except ValueError as exc:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{raw}'") from exc
    return raw


def _compile(query: Query, kinds: dict[str, str]) -> None:
    query.tests = [
        (name, _OPS[op], literal_value(raw, kinds[name], name)) for name, op, raw in query.where
    ]


def validate(query: Query, tables: dict[str, Table]) -> Table:
    """The queried table, once every field and child relationship is known."""
    table = tables.get(query.sobject)
    if table is None:
        raise unsupported(query.sobject)
    known = table.all_fields()
    for name in [*query.fields, *(w[0] for w in query.where), *(o[0] for o in query.order_by)]:
        if name not in known:
            raise _no_column(name, query.sobject)
    _compile(query, known)
    for child in query.children:
        child_name = table.children.get(child.sobject)
        if child_name is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"Didn't understand relationship '{child.sobject}' in FROM part of query call.",
            )
        child_known = tables[child_name].all_fields()
        names = [*child.fields, *(w[0] for w in child.where), *(o[0] for o in child.order_by)]
        for name in names:
            if name not in child_known:
                raise _no_column(name, child_name)
        _compile(child, child_known)
    return table


def _matches(row: dict[str, Any], tests: list[tuple[str, Callable[[Any, Any], bool], Any]]) -> bool:
    for name, test, value in tests:
        current = row.get(name)
        if value is None or current is None:
            if not (test(current, value) if test in (operator.eq, operator.ne) else False):
                return False
        elif not test(current, value):
            return False
    return True


def _by(names: list[str]) -> Callable[[dict[str, Any]], Any]:
    """Sort key over ``names``; nulls last, as Salesforce sorts ascending by default."""
    return lambda row: tuple((row.get(n) is None, row.get(n) or "") for n in names)


#: Orders rows already have: tables are kept sorted by (SystemModstamp, Id), and child rows
#: (history) are written in time order, so these sorts can be skipped.
_TABLE_ORDER = (["SystemModstamp", "Id"], ["SystemModstamp"])
_CHILD_ORDER = (["CreatedDate"], ["SystemModstamp"])


def _sort_key(
    order_by: list[tuple[str, bool]], presorted: tuple[list[str], ...]
) -> Callable[[dict[str, Any]], Any] | None:
    if not order_by or any(desc for _, desc in order_by):
        return None
    names = [n for n, _ in order_by]
    return None if names in presorted else _by(names)


def run(query: Query, tables: dict[str, Table], *, include_deleted: bool) -> list[dict[str, Any]]:
    """The matching rows, ordered and limited (not yet projected)."""
    table = validate(query, tables)
    tests = query.tests
    rows = [
        row
        for row in table.rows
        if (include_deleted or not (row.get("IsDeleted") or row.get("IsArchived")))
        and (not tests or _matches(row, tests))
    ]
    key = _sort_key(query.order_by, _TABLE_ORDER)
    if key is not None:
        rows.sort(key=key)
    elif any(desc for _, desc in query.order_by):
        for name, desc in reversed(query.order_by):
            rows.sort(key=_by([name]), reverse=desc)
    return rows if query.limit is None else rows[: query.limit]


def project(row: dict[str, Any], query: Query) -> dict[str, Any]:
    """A row as the API returns it: ``attributes``, the selected fields, child results."""
    out = {"attributes": row["attributes"]}
    for name in query.fields:
        out[name] = row.get(name)
    for child in query.children:
        found = row.get("_children", {}).get(child.sobject, [])
        if child.tests:
            found = [r for r in found if _matches(r, child.tests)]
        key = _sort_key(child.order_by, _CHILD_ORDER)
        ordered = sorted(found, key=key) if key else found
        out[child.sobject] = (
            {
                "totalSize": len(ordered),
                "done": True,
                "records": [project(r, child) for r in ordered],
            }
            if ordered
            else None
        )
    return out
