"""The state one HubSpot sync run shares between its streams (typed, one object a run).

- ``leads``: whether the portal has the Leads object readable by this app. Deals and
  engagements associate with leads only when it does: on a portal without it (most
  portals: Leads needs Sales Hub Pro), the v4 association reads naming ``leads`` answer
  400 and would fail every stream asking them.
- ``stages``: the deal stages (id -> StageInfo), read once by the deals stream.
- ``company_currency``: the portal's currency, the currency of deals whose
  ``deal_currency_code`` is empty (single-currency portals leave it so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from connectors.hubspot._deals import StageInfo


@dataclass(slots=True)
class HubSpotState:
    leads: bool | None = None
    stages: dict[str, StageInfo] | None = None
    company_currency: str | None = None


def state_of(ctx: Any) -> HubSpotState:
    """The run's HubSpotState: ``ctx.state`` (``HubSpotConnector.new_state``); a context
    built without one (a stream read on its own) is given a fresh one."""
    state = getattr(ctx, "state", None)
    if not isinstance(state, HubSpotState):
        state = ctx.state = HubSpotState()
    return state
