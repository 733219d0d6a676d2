"""Pure functions: Pipedrive JSON -> ``core.sync.records`` records.

Facts they rely on (Pipedrive API reference, v1 and v2 models):

- v2 timestamps are RFC 3339 (``2024-05-01T10:00:00Z``); v1 ones are ``YYYY-MM-DD HH:MM:SS``
  in UTC without a zone. Both become aware UTC datetimes here.
- won / lost is the deal ``status``, independent of the stage: a won deal stays in its last
  stage, so Pipedrive stages are never closed and the deal carries ``won_time``/``lost_time``;
  each pipeline gets a won and a lost stage of ours, entered at the close.
- custom fields are 40-hex-character keys (v2: under ``custom_fields``; v1: top level),
  named by :class:`~connectors.pipedrive.custom_fields.FieldCatalog`.

Every function raises :class:`~core.sync.connector.MappingError` with a precise reason when a
record cannot be mapped; the engine quarantines it and goes on.
"""

from __future__ import annotations

from connectors.pipedrive._map_activities import map_activity, map_note, note_id
from connectors.pipedrive._map_deals import map_deal, map_stage_history
from connectors.pipedrive._map_people import map_lead, map_organization, map_person
from connectors.pipedrive._map_setup import (
    closed_stages,
    map_currency,
    map_pipeline,
    map_stage,
    map_team,
    map_user,
    team_members,
)
from connectors.pipedrive.values import foreign_id, parse_date, parse_money, parse_time

__all__ = [
    "closed_stages",
    "foreign_id",
    "map_activity",
    "map_currency",
    "map_deal",
    "map_lead",
    "map_note",
    "map_organization",
    "map_person",
    "map_pipeline",
    "map_stage",
    "map_stage_history",
    "map_team",
    "map_user",
    "note_id",
    "parse_date",
    "parse_money",
    "parse_time",
    "team_members",
]
