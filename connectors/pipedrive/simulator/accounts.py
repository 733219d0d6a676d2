"""Account variants of the simulator (``crmkpi simulate pipedrive --account ...``).

- ``full``: an admin API token on a plan with every feature the connector reads.
- ``standard``: an admin token on a plan without teams (``/v1/legacyTeams`` answers 402).
- ``minimal``: a regular user's token on a small plan: no teams (``legacyTeams`` needs an
  admin: 403) and no archived deals (``/api/v2/deals/archived`` answers 404).

Each refused endpoint answers Pipedrive's error envelope; everything else is as ``full``.
"""

from __future__ import annotations

from core.simulation.options import Account

_ADMIN_ONLY = "Only admin users can access this resource"
_PLAN = "Payment required: this feature is not available on your company's plan"

#: Path (without the /api prefix) -> (status, message) refused on each account.
REFUSED: dict[Account, dict[str, tuple[int, str]]] = {
    Account.FULL: {},
    Account.STANDARD: {"/v1/legacyTeams": (402, _PLAN)},
    Account.MINIMAL: {
        "/v1/legacyTeams": (403, _ADMIN_ONLY),
        "/v2/deals/archived": (404, "Not found"),
    },
}


def refusal(account: Account, path: str) -> tuple[int, str] | None:
    """The error ``path`` answers on ``account`` (``/api/v1/x`` and ``/v1/x`` alike)."""
    key = path[len("/api") :] if path.startswith("/api/") else path
    return REFUSED[account].get(key)
