"""Deal stage history: cheap (only deals whose stage changed are read) and resumable (its
own cursor, committed deal by deal).

Pipedrive has no bulk history: stage moves are only in each deal's flow
(``/v1/deals/{id}/flow?items=dealChange``) or changelog, one request per deal (v1
``/recents?items=deal`` lists changed deals, which ``/api/v2/deals?updated_since`` gives
too, not their moves). So this stream lists deals by update time from its own cursor and
reads the flow of those whose ``stage_change_time`` is at or after the pass's threshold (a
deal's update time is never before its last move, so every moved deal is listed): an edit
of any other field costs no flow request.

The requests interleave: a deals page, then the flows of its moved deals, then the next
deals page. The cursor is the (update time, id) of the deals list, carried by the raw
records in list order: a deals page yields a marker for the deals before its first moved
deal, each flow yields the history of its deal and covers the unmoved deals up to the next
moved one. So every committed cursor covers only deals whose history is written.

A *pass* reads from the cursor minus the look-back with one threshold (None on a full
read: every deal that ever moved). The cursor's id says whether its pass ended
(``"<deal>|done"``) or was cut short (``"<deal>|<threshold>"``, ``*`` for None): a run
after an interrupted pass finishes it with the same threshold (the deals after the
cursor still need every move since then), and only a run after a finished pass moves the
threshold up to its own window.

The engine sends a stream's requests and hands back its pages in the same order, so the
stream remembers what each request was for in a FIFO (``_Plan.sent``), on the instance:
a run builds its own stream instances, and ``first_request`` starts a fresh plan.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connectors.pipedrive import mapping, settings
from connectors.pipedrive._base import V1_PAGINATOR, V2_PAGINATOR, Shared, page_data, rfc3339_since
from core.models.enums import SyncMode
from core.sync.connector import Cursor, MappingError, Request, Stream, StreamContext
from core.sync.records import AnyRecord, DealStageHistoryRecord

#: What the stage history keeps of a listed deal to rebuild its stays.
DEAL_KEYS = ("id", "add_time", "stage_id", "pipeline_id", "is_deleted", "is_archived")
#: Cursor id suffixes: a finished pass, and an interrupted full pass (no threshold).
DONE = "done"
EVERY_MOVE = "*"


@dataclass(frozen=True, slots=True)
class _Step:
    """What one request was for: a deals page (``deal`` None), or (a page of) one deal's
    flow with the list position its completion covers and whether it ends the pass."""

    deal: Mapping[str, Any] | None = None
    cover: Cursor | None = None
    final: bool = False


@dataclass(slots=True)
class _Plan:
    """The stream's state for one run."""

    threshold: datetime | None
    sent: deque[_Step] = field(default_factory=deque)
    #: The step of the latest request issued (a flow's next page is for the same deal).
    last: _Step = field(default_factory=_Step)
    flows: deque[_Step] = field(default_factory=deque)
    next_deals: Request | None = None
    changes: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)

    def tag(self, position: Cursor, final: bool) -> Cursor:
        """``position`` as the cursor to commit: marked done, or with the threshold."""
        if final:
            suffix = DONE
        else:
            suffix = EVERY_MOVE if self.threshold is None else self.threshold.isoformat()
        return Cursor(position.updated_at, f"{position.remote_id}|{suffix}")


def threshold_of(ctx: StreamContext) -> datetime | None:
    """The moves this run reads: those of the interrupted pass it finishes, else those at
    or after its window (None: every move)."""
    since = ctx.since()
    cursor = ctx.start_cursor
    if since is None or cursor is None or ctx.mode is SyncMode.FULL:
        return None
    _, separator, suffix = cursor.remote_id.rpartition("|")
    if not separator or suffix == DONE:
        return since
    if suffix == EVERY_MOVE:
        return None
    try:
        return datetime.fromisoformat(suffix)
    except ValueError:
        return since


def _position(deal: Mapping[str, Any]) -> Cursor | None:
    try:
        updated = mapping.parse_time(deal.get("update_time"))
    except MappingError:
        return None
    return None if updated is None or deal.get("id") is None else Cursor(updated, str(deal["id"]))


def moved(deal: Mapping[str, Any], threshold: datetime | None) -> bool:
    """Whether the deal's flow must be read: it moved stage at least once and at or after
    ``threshold`` when there is one (an unparseable time reads it, to be safe)."""
    changed = deal.get("stage_change_time")
    if changed is None:
        return False
    if threshold is None:
        return True
    try:
        at = mapping.parse_time(changed)
    except MappingError:
        return True
    return at is None or at >= threshold


def plan_page(page: Any, threshold: datetime | None) -> tuple[Cursor | None, bool, list[_Step]]:
    """A deals page as (the position of the deals before its first moved one, whether
    that position ends the pass, the flow steps of its moved deals, each covering up to
    the next moved deal). The last page of the list (no next cursor) ends the pass."""
    last_page = V2_PAGINATOR.next_request(page, Request()) is None
    prefix: Cursor | None = None
    steps: list[_Step] = []
    current: Mapping[str, Any] | None = None
    cover: Cursor | None = None
    for deal in page_data(page):
        position = _position(deal)
        if moved(deal, threshold):
            if current is not None:
                steps.append(_Step(current, cover))
            current, cover = {k: deal.get(k) for k in DEAL_KEYS}, position
        elif current is None:
            prefix = position or prefix
        else:
            cover = position or cover
    if current is not None:
        steps.append(_Step(current, cover, final=last_page))
    return prefix, last_page and not steps, steps


class DealStageHistoryStream(Stream):
    """Stage stays of the deals whose stage moved since this stream's cursor, from their
    flows. Deals that never moved get their single stay from the deals stream, which runs
    first: a deal moving during a run could otherwise have its flow's stays overwritten
    by the single open stay the deals stream read before the move."""

    name = "deal_stage_history"
    produces = (DealStageHistoryRecord,)
    depends_on = ("deals", "stages")
    incremental = True
    cursor_ordered = True

    def __init__(self) -> None:
        self.plan = _Plan(threshold=None)

    def first_request(self, ctx: StreamContext) -> Request:
        params: dict[str, Any] = {
            "limit": settings.PAGE_SIZE,
            "sort_by": "update_time",
            "sort_direction": "asc",
        }
        since = rfc3339_since(ctx)
        if since is not None:
            params["updated_since"] = since
        self.plan = _Plan(threshold=threshold_of(ctx), sent=deque([_Step()]))
        return Request(path=settings.V2_DEALS, params=params)

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        plan = self.plan
        if request.path == settings.V2_DEALS:
            _, _, steps = plan_page(page, plan.threshold)
            plan.flows.extend(steps)
            plan.next_deals = V2_PAGINATOR.next_request(page, request)
        else:
            more = V1_PAGINATOR.next_request(page, request)
            if more is not None:
                plan.sent.append(plan.last)
                return more
        if plan.flows:
            step = plan.last = plan.flows.popleft()
            plan.sent.append(step)
            assert step.deal is not None
            return Request(
                path=settings.V1_DEAL_FLOW.format(id=step.deal["id"]),
                params={"items": "dealChange", "limit": settings.PAGE_SIZE},
            )
        deals, plan.next_deals = plan.next_deals, None
        if deals is not None:
            plan.last = _Step()
            plan.sent.append(plan.last)
        return deals

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        """The raw records of the page answering the oldest request not yet extracted."""
        plan = self.plan
        step = plan.sent.popleft()
        if step.deal is None:
            prefix, final, _ = plan_page(page, plan.threshold)
            return [] if prefix is None else [{"cursor": plan.tag(prefix, final).to_json()}]
        deal_id = str(step.deal["id"])
        changes = plan.changes.setdefault(deal_id, [])
        changes.extend(
            item["data"]
            for item in page_data(page)
            if item.get("object") == "dealChange" and isinstance(item.get("data"), Mapping)
        )
        if V1_PAGINATOR.next_request(page, Request()) is not None:
            return []  # the rest of this deal's flow is on the next page
        raw: dict[str, Any] = {
            "id": deal_id,
            "deal": dict(step.deal),
            "changes": plan.changes.pop(deal_id),
        }
        if step.cover is not None:
            raw["cursor"] = plan.tag(step.cover, step.final).to_json()
        return [raw]

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        if "deal" not in raw:
            return []  # a cursor marker: deals that did not move
        return mapping.map_stage_history(
            raw["deal"], raw["changes"], ctx.shared.get(Shared.PIPELINE_OF_STAGE, {})
        )

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        value = raw.get("cursor")
        return None if value is None else Cursor.from_json(value)
