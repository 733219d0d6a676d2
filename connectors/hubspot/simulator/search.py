"""The simulator's CRM search: filter groups (OR of ANDs), one sort, limit, the 10k cap.

Date properties compare as epoch milliseconds (HubSpot accepts both ms and ISO values in
filters), numbers numerically, text case-insensitively. Past 10,000 results the real API
answers 400, and so does this one.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from connectors.hubspot import settings
from connectors.hubspot.simulator.render import Rendered
from core.simulation.paging import page

MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 6
MAX_FILTERS = 18


class SearchError(ValueError):
    """A search the real API would reject with 400 VALIDATION_ERROR."""


@lru_cache(maxsize=200_000)
def _comparable(value: str) -> float | str:
    """A property or filter value as a number (dates as epoch ms) or lower-case text."""
    try:
        return float(value)
    except ValueError:
        pass
    if len(value) >= 10 and value[4] == "-" and value[7] == "-":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed.timestamp() * 1000
        except ValueError:
            pass
    return value.lower()


def _value(record: Rendered, name: str) -> str | None:
    if name in ("hs_object_id", "id"):
        return str(record.id)
    value = record.body["properties"].get(name)
    return None if value is None else str(value)


def _compare(a: float | str, b: float | str) -> int:
    if type(a) is not type(b):
        a, b = str(a), str(b)
    return (a > b) - (a < b)  # type: ignore[operator]


def _predicate(spec: Mapping[str, Any]) -> Callable[[Rendered], bool]:
    name = str(spec.get("propertyName") or "")
    operator = str(spec.get("operator") or "")
    if not name or not operator:
        raise SearchError("Each filter needs a propertyName and an operator")
    if operator == "HAS_PROPERTY":
        return lambda r: _value(r, name) not in (None, "")
    if operator == "NOT_HAS_PROPERTY":
        return lambda r: _value(r, name) in (None, "")
    if operator in ("IN", "NOT_IN"):
        wanted = {_comparable(str(v)) for v in spec.get("values") or ()}
        inside = operator == "IN"

        def member(r: Rendered) -> bool:
            value = _value(r, name)
            return (value is not None and _comparable(value) in wanted) == inside

        return member
    if operator in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(spec.get("value", "")).lower().strip("*")
        contains = operator == "CONTAINS_TOKEN"
        return lambda r: bool((token in (_value(r, name) or "").lower()) == contains)
    if "value" not in spec:
        raise SearchError(f"Filter on {name} with operator {operator} needs a value")
    target = _comparable(str(spec["value"]))
    high = _comparable(str(spec.get("highValue", spec["value"])))
    tests: dict[str, Callable[[int, int], bool]] = {
        "EQ": lambda c, _: c == 0,
        "NEQ": lambda c, _: c != 0,
        "LT": lambda c, _: c < 0,
        "LTE": lambda c, _: c <= 0,
        "GT": lambda c, _: c > 0,
        "GTE": lambda c, _: c >= 0,
        "BETWEEN": lambda c, h: c >= 0 and h <= 0,
    }
    test = tests.get(operator)
    if test is None:
        raise SearchError(f"Unknown operator {operator}")

    def compare(r: Rendered) -> bool:
        value = _value(r, name)
        if value is None:
            return operator == "NEQ"
        comparable = _comparable(value)
        return bool(test(_compare(comparable, target), _compare(comparable, high)))

    return compare


def _matcher(groups: Sequence[Mapping[str, Any]]) -> Callable[[Rendered], bool]:
    if len(groups) > MAX_GROUPS:
        raise SearchError(f"Too many filter groups ({len(groups)}); the maximum is {MAX_GROUPS}")
    compiled = []
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise SearchError(
                f"Too many filters in a group; the maximum is {MAX_FILTERS_PER_GROUP}"
            )
        total += len(filters)
        compiled.append([_predicate(f) for f in filters])
    if total > MAX_FILTERS:
        raise SearchError(f"Too many filters ({total}); the maximum is {MAX_FILTERS}")
    if not compiled:
        return lambda r: True
    return lambda r: any(all(p(r) for p in group) for group in compiled)


class SearchIndex:
    """Live records of one object type, also ordered by (modified, id) for range filters."""

    def __init__(self, records: Sequence[Rendered], modified_property: str) -> None:
        self.records = list(records)
        self.modified_property = modified_property

        def key(r: Rendered) -> tuple[float, int]:
            value = _value(r, modified_property)
            comparable = _comparable(value) if value else 0.0
            return (comparable if isinstance(comparable, float) else 0.0, r.id)

        keyed = sorted((key(r), r) for r in self.records)
        self.by_modified = [r for _, r in keyed]
        self.modified_keys = [k[0] for k, _ in keyed]

    def candidates(
        self, groups: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Rendered], bool, set[int]]:
        """Records that may match, whether they are in (modified, id) order, and the
        indexes of the filters the narrowing already guarantees.

        A single filter group's range filters on the modified property are applied by
        bisection; within one exact timestamp, so are those on ``hs_object_id``.
        """
        if len(groups) != 1:
            return self.records, False, set()
        filters = list(groups[0].get("filters") or ())
        low, high = 0, len(self.by_modified)
        consumed: set[int] = set()
        exact = False
        for position, spec in enumerate(filters):
            bound = self._bound(spec, self.modified_property)
            if bound is None:
                continue
            operator = spec.get("operator")
            if operator in ("GT", "GTE", "EQ"):
                find = bisect_right if operator == "GT" else bisect_left
                low = max(low, find(self.modified_keys, bound))
            if operator in ("LT", "LTE", "EQ"):
                find = bisect_left if operator == "LT" else bisect_right
                high = min(high, find(self.modified_keys, bound))
            exact = exact or operator == "EQ"
            consumed.add(position)
        chosen = self.by_modified[low:high]
        if exact:  # one timestamp: the slice is in id order
            ids = [r.id for r in chosen]
            start, end = 0, len(chosen)
            for position, spec in enumerate(filters):
                bound = self._bound(spec, "hs_object_id")
                if bound is None or spec.get("operator") not in ("GT", "GTE", "LT", "LTE"):
                    continue
                operator = spec["operator"]
                if operator in ("GT", "GTE"):
                    find = bisect_right if operator == "GT" else bisect_left
                    start = max(start, find(ids, bound))
                else:
                    find = bisect_left if operator == "LT" else bisect_right
                    end = min(end, find(ids, bound))
                consumed.add(position)
            chosen = chosen[start:end]
        return chosen, True, consumed

    @staticmethod
    def _bound(spec: Mapping[str, Any], name: str) -> float | None:
        if spec.get("propertyName") != name or "value" not in spec:
            return None
        bound = _comparable(str(spec["value"]))
        return bound if isinstance(bound, float) else None


def run_search(
    index: SearchIndex, body: Mapping[str, Any]
) -> tuple[int, list[Rendered], str | None]:
    """(total, the page's records, the next ``after``) of a search request body."""
    limit = int(body.get("limit") or 10)
    if not 0 < limit <= settings.SEARCH_PAGE_SIZE:
        raise SearchError(f"limit must be between 1 and {settings.SEARCH_PAGE_SIZE}")
    offset = int(body.get("after") or 0)
    if offset >= settings.SEARCH_RESULT_CAP:
        raise SearchError(
            f"Search results are limited to {settings.SEARCH_RESULT_CAP} records; "
            f"after={offset} is beyond them"
        )
    groups = body.get("filterGroups") or []
    _matcher(groups)  # validates every filter
    candidates, by_modified, consumed = index.candidates(groups)
    if consumed:
        rest = [f for i, f in enumerate(groups[0].get("filters") or ()) if i not in consumed]
        groups = [{"filters": rest}] if rest else []
    matcher = _matcher(groups)
    matches = [r for r in candidates if matcher(r)] if groups else list(candidates)
    sorts = body.get("sorts") or []
    if sorts:
        sort = sorts[0]
        name = str(sort.get("propertyName") if isinstance(sort, Mapping) else sort)
        descending = isinstance(sort, Mapping) and sort.get("direction") == "DESCENDING"
        if name in ("hs_object_id", "id"):
            matches.sort(key=lambda r: r.id, reverse=descending)
        elif name != index.modified_property or not by_modified or descending:

            def key(r: Rendered) -> tuple[bool, float | str, int]:
                value = _value(r, name)
                return (value is None, _comparable(value) if value else 0.0, r.id)

            matches.sort(key=key, reverse=descending)
    elif by_modified:
        matches.sort(key=lambda r: r.id)
    found = page(matches, offset, limit)
    return len(matches), list(found.items), None if found.next is None else str(found.next)
