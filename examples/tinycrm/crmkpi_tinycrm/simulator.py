"""A seeded TinyCRM in memory, served over ASGI, so the connector can be tried end to end."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from core.simulation.faults import FaultMiddleware

TOKEN = "tiny-demo-token"  # noqa: S105 - the simulator's public demo credential
STAGES = [
    {"id": "s-new", "name": "New", "probability": 0.1, "outcome": None},
    {"id": "s-demo", "name": "Demo", "probability": 0.5, "outcome": None},
    {"id": "s-won", "name": "Won", "probability": 1.0, "outcome": "won"},
    {"id": "s-lost", "name": "Lost", "probability": 0.0, "outcome": "lost"},
]


@dataclass
class TinyData:
    """Users, one pipeline and deals; ``edit`` and ``delete`` let tests change them."""

    users: list[dict[str, Any]]
    deals: dict[str, dict[str, Any]]
    deleted: list[dict[str, Any]] = field(default_factory=list)
    clock: datetime = datetime(2026, 1, 1, tzinfo=UTC)

    @classmethod
    def seeded(cls, seed: int, deals: int) -> TinyData:
        rng = random.Random(seed)
        users = [
            {"id": f"u{n}", "name": f"Rep {n}", "email": f"rep{n}@tiny.example"} for n in range(3)
        ]
        data = cls(users=users, deals={})
        for n in range(deals):
            stage = rng.choice(STAGES)
            created = data.tick()
            data.deals[f"d{n}"] = {
                "id": f"d{n}",
                "title": f"Deal {n}",
                "amount": round(rng.uniform(500, 20000), 2),
                "currency": "USD",
                "pipeline_id": "p1",
                "stage_id": stage["id"],
                "status": stage["outcome"] or "open",
                "owner_id": rng.choice(users)["id"],
                "created_at": created.isoformat(),
                "updated_at": created.isoformat(),
                "closed_at": created.isoformat() if stage["outcome"] else None,
            }
        return data

    def tick(self) -> datetime:
        self.clock += timedelta(minutes=7)
        return self.clock

    def edit(self, deal_id: str, **changes: Any) -> None:
        self.deals[deal_id].update(changes, updated_at=self.tick().isoformat())

    def delete(self, deal_id: str) -> None:
        self.deals.pop(deal_id)
        self.deleted.append({"id": deal_id, "deleted_at": self.tick().isoformat()})


def _page(rows: list[dict[str, Any]], request: Request) -> JSONResponse:
    limit = min(int(request.query_params.get("limit", 100)), 500)
    start = int(request.query_params.get("cursor", 0))
    chunk = rows[start : start + limit]
    more = start + limit < len(rows)
    return JSONResponse({"data": chunk, "next_cursor": str(start + limit) if more else None})


def build_app(
    *, seed: int = 1, deals: int = 100, data: TinyData | None = None, faults: str | None = None
) -> FaultMiddleware:
    """The ASGI app; pass ``data`` to keep a handle on it (tests edit it between syncs).

    ``faults`` (e.g. ``"5xx=0.1,429every=7"``) reuses crmkpi's fault injection, so the
    connector can be tried against an unreliable server too.
    """
    store = data or TinyData.seeded(seed, deals)

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization") == f"Token {TOKEN}"

    def unauthorized() -> JSONResponse:
        return JSONResponse({"error": "invalid token"}, status_code=401)

    async def users(request: Request) -> JSONResponse:
        return _page(store.users, request) if authorized(request) else unauthorized()

    async def pipelines(request: Request) -> JSONResponse:
        if not authorized(request):
            return unauthorized()
        return _page([{"id": "p1", "name": "Sales", "stages": STAGES}], request)

    async def deal_list(request: Request) -> JSONResponse:
        if not authorized(request):
            return unauthorized()
        since = request.query_params.get("updated_since")
        rows = sorted(store.deals.values(), key=lambda d: (d["updated_at"], d["id"]))
        if since:
            bound = datetime.fromisoformat(since)
            rows = [d for d in rows if datetime.fromisoformat(d["updated_at"]) >= bound]
        return _page(rows, request)

    async def deleted(request: Request) -> JSONResponse:
        if not authorized(request):
            return unauthorized()
        since = request.query_params.get("since")
        rows = [
            d
            for d in store.deleted
            if not since or datetime.fromisoformat(d["deleted_at"]) >= datetime.fromisoformat(since)
        ]
        return JSONResponse({"data": rows, "next_cursor": None})

    app = Starlette(
        routes=[
            Route("/api/users", users),
            Route("/api/pipelines", pipelines),
            Route("/api/deals", deal_list),
            Route("/api/deals/deleted", deleted),
        ]
    )
    return FaultMiddleware(app, faults)
