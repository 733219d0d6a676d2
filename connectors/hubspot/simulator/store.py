"""One object type of the simulated portal: live and archived records, JSON kept rendered."""

from __future__ import annotations

import json
from typing import Any

from connectors.hubspot.simulator import batch as _simbatch
from connectors.hubspot.simulator import properties as _properties
from connectors.hubspot.simulator import render as _render
from connectors.hubspot.simulator.search import SearchIndex


class ObjectStore:
    """One object type: live and archived records by id, JSON rendered once each."""

    def __init__(self, name: str, rendered: list[_render.Rendered], modified_property: str) -> None:
        self.name = name
        self.known = _properties.defined(name, (r.body for r in rendered))
        self.live = [r for r in rendered if not r.archived]
        self.index = SearchIndex(self.live, modified_property)
        self.archived = [r for r in rendered if r.archived]
        self.live_ids = [r.id for r in self.live]
        self.archived_ids = [r.id for r in self.archived]
        self.by_id = {r.id: r for r in rendered}
        #: Rendered JSON by (requested properties, associations asked, page) and id.
        self._cache: dict[tuple[Any, ...], dict[int, bytes]] = {}

    def body(self, record: _render.Rendered, wanted: tuple[str, ...] | None) -> dict[str, Any]:
        """The object's v3 body with the properties a read asking ``wanted`` returns."""
        props = _properties.narrow(self.name, record.body["properties"], wanted, self.known)
        return {**record.body, "properties": props}

    def plain(self, record: _render.Rendered, wanted: tuple[str, ...] | None = None) -> bytes:
        cache = self._cache.setdefault((wanted,), {})
        cached = cache.get(record.id)
        if cached is None:
            cached = cache[record.id] = json.dumps(self.body(record, wanted)).encode()
        return cached

    def with_associations(
        self,
        record: _render.Rendered,
        page: int,
        wanted: tuple[str, ...] | None = None,
        types: tuple[str, ...] = (),
    ) -> bytes:
        cache = self._cache.setdefault((wanted, types, page), {})
        cached = cache.get(record.id)
        if cached is None:
            assoc = _simbatch.embedded(record, page, types)
            body = self.body(record, wanted)
            if assoc:
                body["associations"] = assoc
            cached = cache[record.id] = json.dumps(body).encode()
        return cached
