"""What the Pipedrive streams of one run share, typed (``StreamContext.state``).

One :class:`RunState` per run (``PipedriveConnector.new_state``): field catalogs read
once, team membership, stage -> pipeline, lead conversions learnt from deals, activity
type icons and lead labels. Streams reach it through :func:`run_state` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from connectors.pipedrive.custom_fields import FieldCatalog
from core.sync.connector import StreamContext

#: A lead's conversion: (deal id, deal add time, deal organization id).
Conversion = tuple[str, datetime | None, str | None]


@dataclass(slots=True)
class RunState:
    #: Field catalogs by kind ("deal", "person", "organization"), read once a run.
    catalogs: dict[str, FieldCatalog] = field(default_factory=dict)
    #: user id -> team id; None until read (empty: the account has no teams).
    team_of_user: dict[str, str] | None = None
    pipeline_of_stage: dict[str, str] = field(default_factory=dict)
    #: lead id -> its conversion, from the deals read in this run.
    conversions: dict[str, Conversion] = field(default_factory=dict)
    #: The deals stream's incremental lower bound in this run (None: it read every deal);
    #: ``deals_read`` False: the deals stream has not run in this run.
    deals_window: datetime | None = None
    deals_read: bool = False
    #: Deals answered without a ``source_lead_id`` key although include_fields asked.
    deals_without_lead_field: int = 0
    activity_icons: dict[str, str] | None = None
    #: activity type key -> its name (set with ``activity_icons``).
    activity_names: dict[str, str] = field(default_factory=dict)
    lead_labels: dict[str, str] | None = None


def run_state(ctx: StreamContext) -> RunState:
    """The run's state; a context built without one (a test reading one stream) gets a
    fresh one, kept on it."""
    if not isinstance(ctx.state, RunState):
        ctx.state = RunState()
    return ctx.state
