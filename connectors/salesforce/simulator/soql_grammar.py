"""SOQL text to a :class:`Query`: the grammar the simulated org accepts (see soql.py)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_TOKEN = re.compile(r"\s*(?:(\()|(\))|(,)|('(?:[^'\\]|\\.)*')|(>=|<=|!=|<>|=|<|>)|([\w.:+\-]+))")
OPS: dict[str, Callable[[Any, Any], bool]] = {
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
            if op not in OPS:
                raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{op}'")
            cond = Cond(name, op, self.take())
        return BoolOp("NOT", (cond,)) if negated else cond


def parse(text: str) -> Query:
    parser = _Parser(_tokens(text))
    query = parser.query()
    if parser.peek() is not None:
        raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{parser.peek()}'")
    return query
