"""What a CRM simulator plays: the dataset, injected faults, the account variant, limits.

One object instead of a growing keyword list, built by ``crmkpi simulate`` and by tests
and passed to ``Connector.simulator``. A simulator ignores what it does not implement.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Account(StrEnum):
    """The account variant a simulator plays.

    MINIMAL lacks every optional object and feature (the smallest paid plan: no Leads
    object, single currency, no admin-only endpoints); STANDARD has the usual ones; FULL
    has everything the connector can read.
    """

    MINIMAL = "minimal"
    STANDARD = "standard"
    FULL = "full"


@dataclass(frozen=True)
class SimulatorOptions:
    #: Seed of the generated business (the same seed gives the same facts in every CRM).
    seed: int = 1
    #: How many deals the dataset holds.
    deals: int = 1000
    #: A core.simulation.faults.FaultSpec string the app wraps itself in.
    faults: str | None = None
    account: Account = Account.FULL
    #: Enforce the CRM's documented rate limits, answering with its own 429/403 bodies
    #: and headers.
    rate_limit: bool = False
    #: Salesforce: the child-subquery batch size; forces paged relationship subqueries.
    history_batch: int | None = None
