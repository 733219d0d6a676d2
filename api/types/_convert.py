"""Building GraphQL objects from core objects and rows whose attributes share their names."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar, cast

T = TypeVar("T")


def from_attributes(cls: type[T], source: object, **overrides: Any) -> T:
    """``cls`` with every field it takes at construction (private ones too, not resolver
    fields) read from ``source``'s attribute of the same name, unless given in ``overrides``.

    Most of our types mirror a row or a core result field for field; this keeps their
    constructors from listing every field a second time, so a field added to a type is
    filled without another line, and one missing from the source fails loudly.
    """
    fields = dataclasses.fields(cast(Any, cls))
    values = {f.name: getattr(source, f.name) for f in fields if f.init and f.name not in overrides}
    return cls(**values, **overrides)
