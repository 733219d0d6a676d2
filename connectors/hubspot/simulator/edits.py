"""Changes a test makes to the simulated portal beyond the shared dataset: more
associations on one object, and merges. Kept as a list and replayed on every render.

A merge works as HubSpot's does: the kept record keeps its id, lists the merged-away ids
in ``hs_merged_object_ids`` (``;``-separated) and is modified at the merge time; it takes
over the associations of the merged-away record, whose id disappears (it is neither live
nor archived). Objects associated with the merged-away record are associated with the
kept one instead, without a change of their own last-modified date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from connectors.hubspot import settings
from connectors.hubspot.simulator.render import Rendered, iso

MERGED_PROPERTY = "hs_merged_object_ids"


@dataclass(frozen=True, slots=True)
class Association:
    from_type: str
    from_id: int
    to_type: str
    to_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Merge:
    object_type: str
    keep_id: int
    merged_id: int
    at: datetime


Edit = Association | Merge


def apply(objects: dict[str, list[Rendered]], edits: list[Edit]) -> None:
    """Replay ``edits`` on freshly rendered ``objects``, in order."""
    for edit in edits:
        if isinstance(edit, Association):
            _associate(objects, edit)
        else:
            _merge(objects, edit)


def _associate(objects: dict[str, list[Rendered]], edit: Association) -> None:
    record = next(r for r in objects[edit.from_type] if r.id == edit.from_id)
    kind = f"{settings.SINGULAR[edit.from_type]}_to_{settings.SINGULAR[edit.to_type]}"
    entries = record.associations.setdefault(edit.to_type, [])
    entries.extend({"id": str(i), "type": kind} for i in edit.to_ids)


def _merge(objects: dict[str, list[Rendered]], edit: Merge) -> None:
    records = objects[edit.object_type]
    keep = next(r for r in records if r.id == edit.keep_id)
    gone = next(r for r in records if r.id == edit.merged_id)
    records.remove(gone)
    props = keep.body["properties"]
    merged = [i for i in str(props.get(MERGED_PROPERTY) or "").split(";") if i]
    props[MERGED_PROPERTY] = ";".join([*merged, str(gone.id)])
    modified = settings.CONTACTS.modified_property if edit.object_type == "contacts" else None
    props[modified or "hs_lastmodifieddate"] = iso(edit.at)
    keep.body["updatedAt"] = iso(edit.at)
    for to_type, entries in gone.associations.items():
        mine = keep.associations.setdefault(to_type, [])
        mine.extend(e for e in entries if e not in mine)
    old, new = str(gone.id), str(keep.id)
    for items in objects.values():
        for record in items:
            entries = record.associations.get(edit.object_type) or []
            if all(e["id"] != old for e in entries):
                continue
            moved = [{**e, "id": new} if e["id"] == old else e for e in entries]
            record.associations[edit.object_type] = [
                e for i, e in enumerate(moved) if e not in moved[:i]
            ]
