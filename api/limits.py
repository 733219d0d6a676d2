"""The query cost limit: how many objects a query may ask for, counted before it runs.

Depth, aliases and tokens are limited by strawberry's own extensions (api.schema); they do
not see that ``deals(first: 500) { edges { node { owner { name } } } }`` asked twenty times
under aliases is 10,000 deals with their owners. Here every field costs one, times the page
sizes (``first`` or ``limit``, given or defaulted) of the lists it is inside; fragments are
counted where they are spread. A query over the limit is refused whole, with its cost.

Input hygiene that no single resolver should have to repeat lives here too: NUL characters
in strings (which PostgreSQL cannot store or compare) are refused before execution.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    IntValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
    VariableNode,
)
from graphql.pyutils import Undefined
from strawberry.extensions import SchemaExtension

#: Arguments that multiply the cost of everything under a field.
PAGE_ARGUMENTS = ("first", "limit")


@dataclass
class _Unit:
    """An operation or a fragment: its own field costs and the fragments it spreads."""

    fields: int = 0
    spreads: list[tuple[str, int]] = field(default_factory=list)


def _cost_rule(variables: dict[str, Any], max_cost: int, operation: str | None) -> type:
    class QueryCostRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            self.units: dict[tuple[str, str], _Unit] = {}
            self.current = _Unit()
            self.stack = [1]

        def _start(self, kind: str, name: str) -> None:
            self.current = self.units.setdefault((kind, name), _Unit())
            self.stack = [1]

        def enter_operation_definition(self, node: OperationDefinitionNode, *_: Any) -> None:
            self._start("operation", node.name.value if node.name else "")

        def enter_fragment_definition(self, node: FragmentDefinitionNode, *_: Any) -> None:
            self._start("fragment", node.name.value)

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            multiplier = self.stack[-1]
            self.current.fields += multiplier
            self.stack.append(multiplier * self._page_size(node))

        def leave_field(self, *_: Any) -> None:
            self.stack.pop()

        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            self.current.spreads.append((node.name.value, self.stack[-1]))

        def _page_size(self, node: FieldNode) -> int:
            for argument in node.arguments or ():
                if argument.name.value in PAGE_ARGUMENTS:
                    value = argument.value
                    if isinstance(value, IntValueNode):
                        return max(1, int(value.value))
                    if isinstance(value, VariableNode):
                        given = variables.get(value.name.value)
                        return max(1, given) if isinstance(given, int) else 1
            definition = self.context.get_field_def()
            for name in PAGE_ARGUMENTS:
                arg = definition.args.get(name) if definition else None
                if arg is not None and isinstance(arg.default_value, int):
                    return max(1, arg.default_value)
                if arg is not None and arg.default_value is not Undefined:
                    return 1
            return 1

        def _cost(self, key: tuple[str, str], depth: int = 0) -> int:
            unit = self.units.get(key)
            if unit is None or depth > 50:  # unknown or cyclic fragments: other rules report
                return 0
            return unit.fields + sum(
                mult * self._cost(("fragment", name), depth + 1) for name, mult in unit.spreads
            )

        def leave_document(self, *_: Any) -> None:
            operations = [k for k in self.units if k[0] == "operation"]
            if operation is not None:
                operations = [k for k in operations if k[1] == operation]
            cost = max((self._cost(k) for k in operations), default=0)
            if cost > max_cost:
                self.report_error(
                    GraphQLError(
                        f"query cost {cost} exceeds the limit of {max_cost}: ask for smaller "
                        "pages (first) or fewer fields and aliases",
                        extensions={"code": "QUERY_TOO_EXPENSIVE", "cost": cost},
                    )
                )

    return QueryCostRule


class QueryCostLimiter(SchemaExtension):
    """Adds the cost rule to validation, with this request's variables."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        rule = _cost_rule(dict(ctx.variables or {}), self.max_cost, ctx.operation_name)
        ctx.validation_rules = (*ctx.validation_rules, rule)
        yield


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _nul_rule(variables: dict[str, Any]) -> type:
    class NoNulCharacters(ValidationRule):
        """PostgreSQL text cannot hold NUL: refuse it as input instead of failing in SQL."""

        def enter_document(self, *_: Any) -> None:
            bad = sorted(name for name, value in variables.items() if _has_nul(value))
            if bad:
                self.report_error(_nul_error(f"variable ${bad[0]}"))

        def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
            if "\x00" in node.value:
                self.report_error(_nul_error("a string argument"))

    return NoNulCharacters


def _nul_error(where: str) -> GraphQLError:
    return GraphQLError(
        f"{where} contains a NUL character, which no field accepts",
        extensions={"code": "INVALID_INPUT"},
    )


class NulCharacterGuard(SchemaExtension):
    """Refuses NUL characters in string arguments and variables before anything runs."""

    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        ctx.validation_rules = (*ctx.validation_rules, _nul_rule(dict(ctx.variables or {})))
        yield
