"""Seeded CSV files of what CRMs do not hold (spend, visitors, surveys) for the demo.

They go through the same validated import as a user's files (core.imports), so the demo
exercises the real path rather than writing rows directly.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

CHANNELS = ("organic", "paid_search", "social", "referral", "email")


def _days(end: date, days: int) -> list[date]:
    return [end - timedelta(days=i) for i in range(days, 0, -1)]


def spend_csv(*, seed: int, end: date, days: int = 730, currency: str = "USD") -> str:
    rng = random.Random(seed)
    lines = ["day,kind,channel,campaign,amount,currency"]
    for day in _days(end, days):
        for channel in ("paid_search", "social", "email"):
            lines.append(
                f"{day},MARKETING,{channel},always-on,{rng.uniform(50, 400):.2f},{currency}"
            )
        if day.day == 1:
            lines.append(f"{day},SALES,,sales-team,{rng.uniform(20000, 30000):.2f},{currency}")
    return "\n".join(lines) + "\n"


def visitors_csv(*, seed: int, end: date, days: int = 730) -> str:
    rng = random.Random(seed)
    lines = ["day,channel,visitors"]
    for day in _days(end, days):
        for channel in CHANNELS:
            lines.append(f"{day},{channel},{rng.randint(50, 900)}")
    return "\n".join(lines) + "\n"


def surveys_csv(*, seed: int, end: date, days: int = 730, responses: int = 1500) -> str:
    rng = random.Random(seed)
    lines = ["id,kind,responded_at,score,account_id,contact_email"]
    for i in range(responses):
        day = end - timedelta(days=rng.randint(1, days))
        kind = "NPS" if i % 3 else "CSAT"
        score = (
            min(10, max(0, round(rng.gauss(8, 2))))
            if kind == "NPS"
            else min(5, max(1, round(rng.gauss(4, 1))))
        )
        lines.append(f"{kind.lower()}-{seed}-{i},{kind},{day}T10:00:00Z,{score},,")
    return "\n".join(lines) + "\n"
