"""Deletions in the simulated account: a real Pipedrive account has deleted deals (listed
by ``status=deleted`` for 30 days), persons, activities, notes and leads, so the dataset
``crmkpi simulate pipedrive`` serves has some too."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from core.simulation.dataset import Dataset

#: Every this many deals, persons, activities and leads of a ``crmkpi simulate`` dataset
#: is deleted, a few days before its anchor (within Pipedrive's 30 days of deleted deals).
DELETED_EVERY = 40


def with_deletions(dataset: Dataset, every: int = DELETED_EVERY) -> Dataset:
    """``dataset`` with every ``every``-th deal, person, activity (notes included) and
    lead deleted three days before its anchor (or just after its last change), so that
    a simulated account has deletions to find, as a real one has."""
    base = dataset.anchor - timedelta(days=3)
    kinds: list[Sequence[Any]] = [dataset.deals, dataset.contacts, dataset.activities]
    kinds.append(dataset.leads)
    for objects in kinds:
        for obj in list(objects)[every - 1 :: every]:
            at = max(base, obj.updated_at + timedelta(minutes=1))
            obj.deleted_at = obj.updated_at = at
    return dataset
