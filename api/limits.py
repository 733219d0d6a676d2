"""The query cost limit and input hygiene, checked on documents parsed and validated once.

Depth, aliases and tokens are limited by strawberry's own extensions (api.schema); they do
not see that ``deals(first: 500) { edges { node { owner { name } } } }`` asked twenty times
under aliases is 10,000 deals with their owners. Here every field costs one, times the page
sizes (``first`` or ``limit``, given or defaulted) of the lists it is inside; fragments are
counted where they are spread. A query over the limit is refused whole, with its cost.

Input hygiene that no single resolver should have to repeat lives here too: NUL characters
in strings (which PostgreSQL cannot store or compare) are refused before execution.

Why a cache: parsing and validating the dashboard document costs tens of milliseconds, more
than answering it from the result cache. A validation rule built from each request's
variables (as the cost and NUL rules once were) makes every request's rules new, so nothing
can be reused. Instead a document is parsed once and validated once with the static rules,
and the same pass records its *cost template* (per field, the page sizes above it: numbers,
or names of variables). Each request then only evaluates the template with its variables
and scans its variables for NUL, which takes microseconds.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections import Counter, OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    IntValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
    parse,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

#: Arguments that multiply the cost of everything under a field.
PAGE_ARGUMENTS = ("first", "limit")
#: Documents kept parsed and validated, per schema (least recently used dropped first).
DOCUMENTS_KEPT = 256

#: A page size: a number, or the name of the variable that gives it.
Factor = int | str


@dataclass
class _Unit:
    """An operation or a fragment: its fields (counted by their chain of page sizes above
    them) and the fragments it spreads (with the chain above each spread)."""

    fields: Counter[tuple[Factor, ...]] = field(default_factory=Counter)
    spreads: list[tuple[str, tuple[Factor, ...]]] = field(default_factory=list)


@dataclass
class CostTemplate:
    """A document's cost as a function of the request's variables."""

    units: dict[tuple[str, str], _Unit] = field(default_factory=dict)

    def cost(self, variables: dict[str, Any], operation: str | None) -> int:
        def size(factor: Factor) -> int:
            if isinstance(factor, int):
                return factor
            given = variables.get(factor)
            return max(1, given) if isinstance(given, int) else 1

        def chain(factors: tuple[Factor, ...]) -> int:
            return math.prod(size(f) for f in factors)

        def unit_cost(key: tuple[str, str], depth: int = 0) -> int:
            unit = self.units.get(key)
            if unit is None or depth > 50:  # unknown or cyclic fragments: other rules report
                return 0
            own = sum(n * chain(factors) for factors, n in unit.fields.items())
            return own + sum(
                chain(factors) * unit_cost(("fragment", name), depth + 1)
                for name, factors in unit.spreads
            )

        operations = [k for k in self.units if k[0] == "operation"]
        if operation is not None:
            operations = [k for k in operations if k[1] == operation]
        return max((unit_cost(k) for k in operations), default=0)


def _template_rule(template: CostTemplate) -> type[ValidationRule]:
    class CostTemplateRule(ValidationRule):
        """Records ``template`` while validating; refuses NUL in string literals."""

        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.current = _Unit()
            self.stack: list[tuple[Factor, ...]] = [()]

        def _start(self, kind: str, name: str) -> None:
            self.current = template.units.setdefault((kind, name), _Unit())
            self.stack = [()]

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            self._start("operation", node.name.value if node.name else "")

        def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
            self._start("fragment", node.name.value)

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            above = self.stack[-1]
            self.current.fields[above] += 1
            page = self._page_size(node)
            self.stack.append(above if page == 1 else (*above, page))

        def leave_field(self, *_: Any) -> None:
            self.stack.pop()

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            self.current.spreads.append((node.name.value, self.stack[-1]))

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            problem = _text_problem(node.value)
            if problem:
                self.report_error(_nul_error("a string argument", problem))

        def _page_size(self, node: FieldNode) -> Factor:
            for argument in node.arguments or ():
                if argument.name.value in PAGE_ARGUMENTS:
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        return max(1, int(value.value))
                    if isinstance(value, VariableNode):
                        return value.name.value
            definition = self.context.get_field_def()
            for name in PAGE_ARGUMENTS:
                arg = definition.args.get(name) if definition else None
                if arg is not None and isinstance(arg.default_value, int):
                    return max(1, arg.default_value)
                if arg is not None and arg.default_value is not Undefined:
                    return 1
            return 1

    return CostTemplateRule


@dataclass(frozen=True)
class CheckedDocument:
    """What validation found once for a document: its errors and its cost template."""

    errors: tuple[GraphQLError, ...]
    template: CostTemplate


class Lru:
    """A bounded map, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable) -> Any:
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
        return found

    def put(self, key: Hashable, value: Any) -> None:
        self.items[key] = value
        while len(self.items) > self.capacity:
            self.items.popitem(last=False)


class DocumentCache:
    """Parsed documents by text and their validation by (text, rules); one per schema."""

    def __init__(self, capacity: int = DOCUMENTS_KEPT) -> None:
        self.parsed = Lru(capacity)
        self.checked = Lru(capacity)

    def parse(self, query: str, options: dict[str, Any]) -> DocumentNode:
        """Raises GraphQLError on a syntax error or too many tokens (nothing is cached)."""
        key = (query, tuple(sorted(options.items())))
        document: DocumentNode | None = self.parsed.get(key)
        if document is None:
            document = parse(query, **options)
            self.parsed.put(key, document)
        return document

    def check(
        self,
        schema: GraphQLSchema,
        query: str,
        document: DocumentNode,
        rules: Sequence[type[ASTValidationRule]],
    ) -> CheckedDocument:
        key = (query, tuple(rules))
        found: CheckedDocument | None = self.checked.get(key)
        if found is None:
            template = CostTemplate()
            errors = validate_document(schema, document, (*rules, _template_rule(template)))
            found = CheckedDocument(tuple(errors), template)
            self.checked.put(key, found)
        return found


_SURROGATE = re.compile("[\ud800-\udfff]")


def _text_problem(text: str) -> str | None:
    """Why no field accepts this text: NUL (PostgreSQL cannot store it) or a lone UTF-16
    surrogate (``"\\ud800"`` in JSON: not Unicode text, no database can encode it)."""
    if "\x00" in text:
        return "a NUL character"
    if _SURROGATE.search(text):
        return "a lone surrogate (\\ud800-\\udfff: not valid Unicode)"
    return None


def _bad_text(value: Any) -> str | None:
    if isinstance(value, str):
        return _text_problem(value)
    if isinstance(value, dict):
        for k, v in value.items():
            found = _bad_text(k) or _bad_text(v)
            if found:
                return found
    if isinstance(value, list):
        for v in value:
            found = _bad_text(v)
            if found:
                return found
    return None


def _has_nul(value: Any) -> bool:
    return _bad_text(value) is not None


def _nul_error(where: str, problem: str = "a NUL character") -> GraphQLError:
    return GraphQLError(
        f"{where} contains {problem}, which no field accepts",
        extensions={"code": "INVALID_INPUT"},
    )


def _cost_error(cost: int, max_cost: int) -> GraphQLError:
    return GraphQLError(
        f"query cost {cost} exceeds the limit of {max_cost}: ask for smaller "
        "pages (first) or fewer fields and aliases",
        extensions={"code": "QUERY_TOO_EXPENSIVE", "cost": cost},
    )


class CheckedQueries(SchemaExtension):
    """Parses and validates through ``cache``, then checks this request's variables: NUL
    characters first, the cost limit last (the order the single validation pass had)."""

    def __init__(self, cache: DocumentCache, *, max_cost: int) -> None:
        self.cache = cache
        self.max_cost = max_cost

    def on_parse(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.graphql_document is None and ctx.query:
            # On an error strawberry parses again and reports it as it always does.
            with contextlib.suppress(GraphQLError):
                ctx.graphql_document = self.cache.parse(ctx.query, dict(ctx.parse_options))
        yield

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        if ctx.pre_execution_errors is None and ctx.graphql_document is not None and ctx.query:
            checked = self.cache.check(
                ctx.schema._schema, ctx.query, ctx.graphql_document, ctx.validation_rules
            )
            variables = dict(ctx.variables or {})
            errors: list[GraphQLError] = []
            bad = sorted(name for name, value in variables.items() if _has_nul(value))
            if bad:
                problem = _bad_text(variables[bad[0]]) or "a NUL character"
                errors.append(_nul_error(f"variable ${bad[0]}", problem))
            errors.extend(checked.errors)
            cost = checked.template.cost(variables, ctx.operation_name)
            if cost > self.max_cost:
                errors.append(_cost_error(cost, self.max_cost))
            ctx.pre_execution_errors = errors
        yield


def json_body_problem(body: bytes) -> str | None:
    """Why a POSTed GraphQL body cannot be a request, in words a client can act on; None
    when it is a JSON object. Checked before strawberry reads it: invalid UTF-8, a JSON
    scalar (``42``, ``"x"``, ``null``) or JSON nested 100,000 deep made it fail with 500."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the request body is not valid UTF-8 (byte {exc.start})"
    try:
        parsed = json.loads(text)
    except RecursionError:
        return "the request body is JSON nested too deeply"
    except ValueError as exc:
        return f"the request body is not valid JSON ({exc})"
    if not isinstance(parsed, dict):
        kind = "null" if parsed is None else type(parsed).__name__
        return f"the request body must be a JSON object with a query, not {kind}"
    return None
