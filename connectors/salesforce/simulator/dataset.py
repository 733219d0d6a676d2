"""The dataset as a Salesforce org holds it: datetimes to the second, no future stamps,
some rows in the recycle bin."""

from __future__ import annotations

import random
from dataclasses import fields
from datetime import datetime, timedelta
from typing import Any

from core.simulation.dataset import Dataset


def whole_seconds(data: Dataset) -> None:
    """Salesforce keeps datetimes to the second: the dataset is truncated alike, so what a
    test expects from it is what the org serves (ties within a second included)."""

    def cut(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.replace(microsecond=0)
        if isinstance(value, list):
            return [cut(v) for v in value]
        if isinstance(value, tuple):
            return tuple(cut(v) for v in value)
        if isinstance(value, dict):
            return {k: cut(v) for k, v in value.items()}
        return value

    for objects in (
        data.users,
        data.accounts,
        data.contacts,
        data.leads,
        data.deals,
        data.activities,
    ):
        for obj in objects:
            for item in fields(obj):
                setattr(obj, item.name, cut(getattr(obj, item.name)))


def no_future_stamps(data: Dataset) -> None:
    """Salesforce never stamps a row after now. ``generate`` can leave an open deal's
    ``updated_at`` past the anchor (a stage move it then dropped): use its last real move."""
    for deal in data.deals:
        if deal.updated_at > data.anchor and deal.deleted_at is None:
            deal.updated_at = max(at for _, at in deal.history)


def delete_some(data: Dataset, seed: int, share: float = 0.02) -> None:
    """Soft-delete about ``share`` of the deals, contacts and activities during the last
    three days (still in the recycle bin and the ``getDeleted`` log)."""
    rng = random.Random(seed)
    for objects in (data.deals, data.contacts, data.activities):
        live = [o for o in objects if o.deleted_at is None]
        chosen = rng.sample(live, max(1, int(len(live) * share)))
        for obj in chosen:
            at = data.anchor - timedelta(seconds=rng.randint(60, 3 * 86400))
            obj.deleted_at = obj.updated_at = max(at, obj.updated_at)
