"""The SOQL subset the simulator answers, with Salesforce's own error codes.

``SELECT field, ... | COUNT() [, (SELECT f FROM ChildRelationship [WHERE ..] [ORDER BY f])]
FROM Object [WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]``
where a condition is ``field op literal``, ``field [NOT] IN (literal, ...)``,
``field [NOT] LIKE 'pattern'``, joined by ``AND`` / ``OR``, negated by ``NOT`` and grouped
with parentheses. Keywords, object, relationship and field names are case-insensitive as in
Salesforce (answers carry the API names). Datetime literals are compared on the canonical
``...000+0000`` text rows carry, so a filter over many rows stays a string comparison.
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
    where: Expr | None = None
    order_by: list[tuple[str, bool]] = field(default_factory=list)
    limit: int | None = None
    #: ``SELECT COUNT() FROM ...``: the answer is ``totalSize`` with no records.
    count: bool = False
    #: The WHERE clause compiled against the object's field types (set by ``validate``).
    test: Callable[[dict[str, Any]], bool] | None = None

    @property
    def signature(self) -> str:
        """What shapes a projected row: the object, its fields and the child subqueries."""
        children = ";".join(
            f"{c.sobject}:{','.join(c.fields)}:{c.where}:{c.order_by}" for c in self.children
        )
        return f"{self.sobject}|{','.join(self.fields)}|{children}"


_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "FROM", "WHERE", "ORDER", "BY", "LIMIT"}


@dataclass(frozen=True)
class Cond:
    """``name op literal``; for IN the literal is a list, for LIKE a quoted pattern."""

    name: str
    op: str
    raw: Any


@dataclass(frozen=True)
class BoolOp:
    """``AND`` / ``OR`` of two or more parts, or ``NOT`` of one."""

    op: str
    parts: tuple[Expr, ...]


Expr = Cond | BoolOp


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

    def peek(self, ahead: int = 0) -> str | None:
        at = self.pos + ahead
        return self.tokens[at] if at < len(self.tokens) else None

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
            query.where = self.disjunction()
        if self.keyword("ORDER", "BY"):
            while True:
                name = self.take()
                desc = self.keyword("DESC")
                if not desc:
                    self.keyword("ASC")
                if not self.keyword("NULLS", "FIRST"):
                    self.keyword("NULLS", "LAST")
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

    def disjunction(self) -> Expr:
        parts = [self.conjunction()]
        while self.keyword("OR"):
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def conjunction(self) -> Expr:
        parts = [self.negation()]
        while self.keyword("AND"):
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def negation(self) -> Expr:
        if self.keyword("NOT"):
            return BoolOp("NOT", (self.negation(),))
        if self.peek() == "(":
            self.take()
            inner = self.disjunction()
            if self.take() != ")":
                raise SoqlError("MALFORMED_QUERY", "unbalanced parentheses")
            return inner
        return self.condition()

    def condition(self) -> Expr:
        name = self.take()
        if name.upper() in _KEYWORDS or name in ("(", ")", ","):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{name}'")
        negated = self.keyword("NOT")
        if self.keyword("IN"):
            if self.take() != "(":
                raise SoqlError("MALFORMED_QUERY", "expecting a left parentheses after IN")
            items = [self.take()]
            while self.peek() == ",":
                self.take()
                items.append(self.take())
            if self.take() != ")":
                raise SoqlError("MALFORMED_QUERY", "unbalanced parentheses")
            cond: Expr = Cond(name, "IN", tuple(items))
        elif self.keyword("LIKE"):
            cond = Cond(name, "LIKE", self.take())
        elif negated:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{self.peek()}'")
        else:
            op = self.take()
            if op not in _OPS:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op}'")
            cond = Cond(name, op, self.take())
        return BoolOp("NOT", (cond,)) if negated else cond


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


def _like(pattern: str) -> re.Pattern[str]:
    """SOQL LIKE: ``%`` any run, ``_`` one character, case-insensitive."""
    out = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL)


def _null_safe(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Comparisons with null are false except ``= null`` / ``!= null``, as in SOQL."""

    def compare(current: Any, value: Any) -> bool:
        if value is None or current is None:
            return test(current, value) if test in (operator.eq, operator.ne) else False
        return test(current, value)

    return compare


Predicate = Callable[[dict[str, Any]], bool]


def _compile_expr(
    expr: Expr, kinds: dict[str, str], names: dict[str, str], sobject: str
) -> Predicate:
    if isinstance(expr, BoolOp):
        parts = [_compile_expr(p, kinds, names, sobject) for p in expr.parts]
        if expr.op == "NOT":
            return lambda row: not parts[0](row)
        if expr.op == "AND":
            return lambda row: all(p(row) for p in parts)
        return lambda row: any(p(row) for p in parts)
    name = _canonical(expr.name, names, sobject)
    kind = kinds[name]
    if expr.op == "IN":
        values = {literal_value(raw, kind, name) for raw in expr.raw}
        return lambda row: row.get(name) in values
    if expr.op == "LIKE":
        if not str(expr.raw).startswith("'"):
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{expr.raw}'")
        pattern = _like(str(literal_value(expr.raw, "string", name)))
        return lambda row: isinstance(row.get(name), str) and bool(pattern.match(row[name]))
    test, value = _null_safe(_OPS[expr.op]), literal_value(expr.raw, kind, name)
    return lambda row: test(row.get(name), value)


def _canonical(name: str, names: dict[str, str], sobject: str) -> str:
    """The field's API name for ``name`` in any letter case."""
    found = names.get(name.lower())
    if found is None:
        raise _no_column(name, sobject)
    return found


def _resolve(query: Query, table: Table) -> None:
    """Field names to their API names; the WHERE clause compiled."""
    kinds = table.all_fields()
    names = {n.lower(): n for n in kinds}
    query.fields = [_canonical(n, names, table.name) for n in query.fields]
    query.order_by = [(_canonical(n, names, table.name), d) for n, d in query.order_by]
    query.test = (
        None if query.where is None else _compile_expr(query.where, kinds, names, table.name)
    )


def find_table(tables: dict[str, Table], name: str) -> Table | None:
    """The object named ``name`` in any letter case."""
    found = tables.get(name)
    if found is not None:
        return found
    lowered = name.lower()
    return next((t for key, t in tables.items() if key.lower() == lowered), None)


def validate(query: Query, tables: dict[str, Table]) -> Table:
    """The queried table, once every field and child relationship is known."""
    table = find_table(tables, query.sobject)
    if table is None or not table.queryable:
        raise unsupported(query.sobject)
    query.sobject = table.name
    _resolve(query, table)
    relationships = {r.lower(): r for r in table.children}
    for child in query.children:
        relationship = relationships.get(child.sobject.lower())
        if relationship is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"Didn't understand relationship '{child.sobject}' in FROM part of query call.",
            )
        child.sobject = relationship
        _resolve(child, tables[table.children[relationship]])
    return table


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
    test = query.test
    rows = [
        row
        for row in table.rows
        if (include_deleted or not (row.get("IsDeleted") or row.get("IsArchived")))
        and (test is None or test(row))
    ]
    _order(rows, query.order_by, _TABLE_ORDER)
    return rows if query.limit is None else rows[: query.limit]


def _order(
    rows: list[dict[str, Any]], order_by: list[tuple[str, bool]], presorted: tuple[list[str], ...]
) -> None:
    key = _sort_key(order_by, presorted)
    if key is not None:
        rows.sort(key=key)
    elif any(desc for _, desc in order_by):
        for name, desc in reversed(order_by):
            rows.sort(key=_by([name]), reverse=desc)


def child_rows(row: dict[str, Any], child: Query) -> list[dict[str, Any]]:
    """A parent row's rows of one child subquery, filtered and ordered (not projected)."""
    found = list(row.get("_children", {}).get(child.sobject, []))
    if child.test is not None:
        found = [r for r in found if child.test(r)]
    _order(found, child.order_by, _CHILD_ORDER)
    return found if child.limit is None else found[: child.limit]


#: Builds a child subquery's result from its rows (the app pages them with a knob).
ChildResult = Callable[[Query, list[dict[str, Any]]], dict[str, Any] | None]


def whole_children(child: Query, rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Every child row in one batch; null when there is none (as Salesforce answers)."""
    if not rows:
        return None
    return {"totalSize": len(rows), "done": True, "records": [project(r, child) for r in rows]}


def project(
    row: dict[str, Any], query: Query, children: ChildResult = whole_children
) -> dict[str, Any]:
    """A row as the API returns it: ``attributes``, the selected fields, child results."""
    out = {"attributes": row["attributes"]}
    for name in query.fields:
        out[name] = row.get(name)
    for child in query.children:
        out[child.sobject] = children(child, child_rows(row, child))
    return out
