"""Custom fields: Pipedrive returns them under 40-character hash keys; the ``*Fields``
metadata endpoints name them and label their options.

A :class:`FieldCatalog` is built once per run from a fields endpoint (``prepare`` of the
stream) and turns ``{"a1b2...": 27}`` into ``{"Deal type": "Upsell"}`` for ``custom``.
The mapping then reads deal / account attributes out of those named values
(:func:`pick`) by the usual field names of
:data:`connectors.pipedrive.settings.DEFAULT_CUSTOM_FIELDS`; a connection's own field
mappings are applied by the engine on the same names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from connectors.pipedrive.settings import DEFAULT_CUSTOM_FIELDS

_HASH_KEY = re.compile(r"^[0-9a-f]{40}$")


def is_custom_key(key: str) -> bool:
    """True for Pipedrive's 40-hex-character custom field keys."""
    return bool(_HASH_KEY.match(key))


@dataclass(frozen=True, slots=True)
class FieldDef:
    key: str
    name: str
    field_type: str
    #: option id (as a string) -> label, for enum / set / label fields.
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class FieldCatalog:
    """The field definitions of one object kind (deal, person, organization)."""

    fields: dict[str, FieldDef] = field(default_factory=dict)

    @classmethod
    def from_metadata(cls, items: Iterable[Mapping[str, Any]]) -> FieldCatalog:
        """Build from the ``data`` items of ``GET /api/v1/<object>Fields``."""
        fields: dict[str, FieldDef] = {}
        for item in items:
            key = item.get("key")
            if not isinstance(key, str):
                continue
            options = {
                str(opt["id"]): str(opt.get("label", ""))
                for opt in item.get("options") or ()
                if isinstance(opt, Mapping) and "id" in opt
            }
            fields[key] = FieldDef(
                key, str(item.get("name") or key), str(item.get("field_type") or ""), options
            )
        return cls(fields)

    def option_label(self, key: str, option_id: Any) -> str | None:
        """The label of an option of a built-in enum field (``label``, ``channel``)."""
        definition = self.fields.get(key)
        if definition is None or option_id is None:
            return None
        return definition.options.get(str(option_id))

    def decode(self, raw_custom: Mapping[str, Any] | None) -> dict[str, Any]:
        """Named, labelled custom values; nulls dropped, unknown hash keys kept as is."""
        named: dict[str, Any] = {}
        for key, value in (raw_custom or {}).items():
            if value is None or value == "" or value == []:
                continue
            definition = self.fields.get(key)
            if definition is None:
                named[key] = value
                continue
            if isinstance(value, Mapping) and definition.field_type == "monetary":
                # {"value": 10, "currency": "EUR"}: the amount under the field's name (so
                # mappings read a number), the currency beside it, as v1 does.
                named[definition.name] = value.get("value")
                if value.get("currency"):
                    named[f"{definition.name} currency"] = value["currency"]
                continue
            named[definition.name] = _decode_value(definition, value)
        return named

    def custom_of_v1(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """v1 records carry custom fields as top-level hash keys (leads use deal fields)."""
        return self.decode({k: v for k, v in raw.items() if is_custom_key(k)})


def _decode_value(definition: FieldDef, value: Any) -> Any:
    kind = definition.field_type
    if kind == "enum":
        return definition.options.get(str(_scalar(value)), value)
    if kind == "set":
        ids = value if isinstance(value, list) else str(value).split(",")
        return [definition.options.get(str(_scalar(i)).strip(), i) for i in ids]
    if isinstance(value, Mapping) and kind == "address":
        return value.get("formatted_address") or value.get("value")
    return value


def _scalar(value: Any) -> Any:
    """v2 sometimes wraps option ids as ``{"id": 3}``."""
    if isinstance(value, Mapping):
        return value.get("id", value.get("value"))
    return value


def picks(custom: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The named custom values that feed the attributes of a ``kind`` record.

    Reads the usual field names of :data:`DEFAULT_CUSTOM_FIELDS` (case-insensitive), the
    first non-null one per attribute. A connection's own ``deal_attributes`` /
    ``custom_dimensions`` mappings are applied on top by the engine (core.sync.mappings),
    from the same named ``custom`` values.
    """
    if not custom:
        return {}
    lowered = {name.lower(): value for name, value in custom.items()}
    found: dict[str, Any] = {}
    for attribute, names in DEFAULT_CUSTOM_FIELDS.get(kind, {}).items():
        for name in names:
            value = lowered.get(name.lower())
            if value is not None:
                found[attribute] = value
                break
    return found
