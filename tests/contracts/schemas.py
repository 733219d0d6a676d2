"""The one JSON Schema library of the contract checks: jsonschema-rs, compiled once.

The checks run on every simulator exchange of the whole suite (tests/contracts/traffic.py),
so validation must cost microseconds: each schema is compiled once per process (the
callers cache their validators), and an
instance is walked for its errors only when the fast ``is_valid`` says there are some.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import orjson


class Validator:
    """A compiled Draft 2020-12 schema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self._compiled = jsonschema_rs.Draft202012Validator(schema)

    def iter_errors(self, instance: Any) -> Iterator[jsonschema_rs.ValidationError]:
        if self._compiled.is_valid(instance):
            return iter(())
        return iter(self._compiled.iter_errors(instance))


def parse(raw: bytes) -> Any:
    """A JSON body as Python values; ValueError when it is not JSON. orjson (already the
    product's JSON library) parses a 600 kB query page in a fraction of json.loads's time,
    which is most of what a check costs; like the CRMs, it refuses NaN and Infinity."""
    return orjson.loads(raw)


def compiled(schema: dict[str, Any]) -> Validator:
    """The validator of ``schema`` (callers keep it: compile once per process)."""
    return Validator(schema)
