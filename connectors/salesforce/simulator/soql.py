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
from datetime import UTC, datetime
from typing import Any

from connectors.salesforce.simulator.soql_grammar import (
    OPS,
    BoolOp,
    Expr,
    Query,
    SoqlError,
    parse,
)
from connectors.salesforce.simulator.tables import Table, stamp

__all__ = ["BoolOp", "Query", "SoqlError", "parse"]


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
    test, value = _null_safe(OPS[expr.op]), literal_value(expr.raw, kind, name)
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
