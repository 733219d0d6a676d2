"""Deal stage history: cheap (only deals whose stage changed are read) and resumable (its
own cursor, saved deal by deal).

Pipedrive has no bulk history: stage moves are only in each deal's flow
(``/v1/deals/{id}/flow?items=dealChange``) or changelog, one request per deal (see
docs/connectors/pipedrive.md), read a few at a time (``concurrent.IN_FLIGHT``) so a first
load is bound by the account's rate allowance, not by round trips. So this
stream lists deals by update time from its own cursor and reads the flow of those whose
``stage_change_time`` is at or after the pass's *threshold* (a deal's update time is never
before its last move, so every moved deal is listed): an edit of any other field costs
no flow request.

A *pass* lists deals from the cursor minus the look-back with one threshold (None on the
first read: every deal that ever moved). The cursor saved after each moved deal's flow,
and after each deals page, covers every deal listed before it. While a pass is under
way the cursor carries its threshold in ``Cursor.resume`` (``{"threshold": iso | "*"}``):
a run after an interrupted pass finishes it with the same threshold (the deals after the
cursor still need every move since then); a finished pass saves no ``resume``, and the
next run moves the threshold up to its own window.

A full sync gets this stream's cursor too (``keeps_cursor_on_full``): it lists every
deal (the list is cheap: 500 deals a request) but reads flows with the threshold of its
cursor like an incremental run, so a nightly full sync reads only the flows of deals
moved since the last run; the stays of deals that did not move are already written.
Deals deleted in the window (``status=deleted``; on a full sync, those deleted at or
after the threshold) have the flows of their moves read and their stays written
deleted; this stream thereby finds its own deletions (``finds_deletions``), which keeps
the stage history out of the full sync's reconciliation sweep, whose cost would
otherwise be one flow request per deal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any

from connectors.pipedrive import mapping, settings
from connectors.pipedrive._base import V1_PAGINATOR, V2_PAGINATOR, page_data, read_all
from connectors.pipedrive._state import run_state
from connectors.pipedrive.concurrent import ordered_map
from core.sync.connector import (
    Cursor,
    HttpClient,
    MappingError,
    Page,
    Request,
    Stream,
    StreamContext,
)
from core.sync.records import AnyRecord, DealStageHistoryRecord

#: What the stage history keeps of a listed deal to rebuild its stays.
DEAL_KEYS = (
    *("id", "add_time", "stage_id", "pipeline_id", "is_deleted", "is_archived"),
    *("status", "won_time", "lost_time", "close_time"),
)
#: ``Cursor.resume`` key of an unfinished pass; its value for "every move".
THRESHOLD = "threshold"
EVERY_MOVE = "*"
#: Flows written per page (one transaction; a run cut short re-reads at most these).
FLOW_BATCH = 50


def threshold_of(ctx: StreamContext) -> datetime | None:
    """The moves this run reads: those of the interrupted pass it finishes, else those at
    or after its window (None: every move, on a first read)."""
    cursor = ctx.start_cursor
    if cursor is None:
        return None
    pending = (cursor.resume or {}).get(THRESHOLD)
    if pending == EVERY_MOVE:
        return None
    if pending:
        try:
            return datetime.fromisoformat(pending)
        except ValueError:
            pass
    return cursor.updated_at - ctx.lookback


def _position(deal: Mapping[str, Any]) -> Cursor | None:
    try:
        updated = mapping.parse_time(deal.get("update_time"))
    except MappingError:
        return None
    return None if updated is None or deal.get("id") is None else Cursor(updated, str(deal["id"]))


def moved(deal: Mapping[str, Any], threshold: datetime | None) -> bool:
    """Whether the deal's flow must be read: it moved stage at least once, and, when there
    is a ``threshold``, moved or closed at or after it (an unparseable time reads it, to
    be safe)."""
    changed = deal.get("stage_change_time")
    if changed is None:
        return False
    if threshold is None:
        return True
    # A close ends the last open stay (mapping._stay_records): a deal that moved earlier
    # and closed since the threshold has its flow read again, though its stage did not.
    closed = deal.get("won_time") or deal.get("lost_time") or deal.get("close_time")
    try:
        times = [mapping.parse_time(t) for t in (changed, closed) if t is not None]
    except MappingError:
        return True
    return any(at is None or at >= threshold for at in times)


class DealStageHistoryStream(Stream):
    """Stage stays of the deals listed since this stream's cursor: from their flows for
    those whose stage moved (or that closed after moving) since the threshold, from the
    listing itself for those that never moved (their stage since ``add_time``, and their
    close). Every live deal's stays come from this one stream, so it need not wait for
    the deals stream (a deal moving during a run cannot have its flow's stays overwritten
    by a single open stay another stream read before the move), and it reads the stages
    (one request) rather than wait for that stream either: its flow reads, the bulk of a
    first load's requests, start with the run and keep the rate allowance busy while the
    other streams' sequential list pages are read."""

    name = "deal_stage_history"
    produces = (DealStageHistoryRecord,)
    incremental = True
    finds_deletions = True
    cursor_ordered = True
    keeps_cursor_on_full = True

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        stages = await read_all(
            http,
            Request(path=settings.V2_STAGES, params={"limit": settings.PAGE_SIZE}),
            V2_PAGINATOR,
        )
        pipeline_of_stage = run_state(ctx).pipeline_of_stage
        for stage in stages:
            if stage.get("id") is not None and stage.get("pipeline_id") is not None:
                pipeline_of_stage[str(stage["id"])] = str(stage["pipeline_id"])
        threshold = threshold_of(ctx)
        resume = {THRESHOLD: EVERY_MOVE if threshold is None else threshold.isoformat()}
        base = {"limit": settings.PAGE_SIZE, "sort_by": "update_time", "sort_direction": "asc"}
        since = ctx.since()
        if since is not None:
            base["updated_since"] = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        if ctx.start_cursor is not None:
            # Deals deleted in the window: their stays go with them (no cursor moves).
            deleted = Request(path=settings.V2_DEALS, params={**base, "status": "deleted"})
            async for deals, _ in _deal_pages(http, deleted):
                # whenever it moved, all its stays go; on a full sync (the list is not
                # narrowed by updated_since) one deleted before the threshold was seen
                # by an earlier run
                gone = [
                    {**deal, "is_deleted": True}
                    for deal in deals
                    if moved(deal, None) and not (since is None and _before(deal, threshold))
                ]
                still = [{**deal, "is_deleted": True} for deal in deals if not moved(deal, None)]
                if still:
                    yield Page(raws=[_unmoved(deal) for deal in still])
                batch: list[dict[str, Any]] = []
                async for _, raw in ordered_map(gone, lambda deal: _history(http, deal)):
                    batch.append(raw)
                    if len(batch) >= FLOW_BATCH:
                        yield Page(raws=batch)
                        batch = []
                if batch:
                    yield Page(raws=batch)
        async for deals, last in _deal_pages(http, Request(path=settings.V2_DEALS, params=base)):
            unmoved = [_unmoved(deal) for deal in deals if deal.get("stage_change_time") is None]
            if unmoved:
                yield Page(raws=unmoved)
            flows = [deal for deal in deals if moved(deal, threshold)]
            # Flows read concurrently (the shared limiter paces them), written in order,
            # a batch at a time: the cursor of a batch's last deal covers every one before.
            batch, cursor = [], None
            async for deal, raw in ordered_map(flows, lambda deal: _history(http, deal)):
                batch.append(raw)
                position = _position(deal)
                cursor = cursor if position is None else _with(position, resume)
                if len(batch) >= FLOW_BATCH:
                    yield Page(raws=batch, cursor=cursor)
                    batch, cursor = [], None
            if batch:
                yield Page(raws=batch, cursor=cursor)
            tail = next((p for p in map(_position, reversed(deals)) if p is not None), None)
            if tail is not None:
                yield Page(cursor=_with(tail, None if last else resume), final=last)

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return mapping.map_stage_history(
            raw["deal"], raw["changes"], run_state(ctx).pipeline_of_stage
        )


def _before(deal: Mapping[str, Any], threshold: datetime | None) -> bool:
    """Whether the deal was last updated (for a deleted deal: deleted) before
    ``threshold``; an unparseable time is not before, to be safe."""
    position = _position(deal)
    return threshold is not None and position is not None and position.updated_at < threshold


def _with(position: Cursor, resume: Mapping[str, str] | None) -> Cursor:
    return Cursor(position.updated_at, position.remote_id, resume)


async def _deal_pages(
    http: HttpClient, first: Request
) -> AsyncIterator[tuple[list[Mapping[str, Any]], bool]]:
    """Each page of deals, and whether it is the last; the next page is asked for as soon
    as a page arrives, so that it is there when the flows of this one are read (the flow
    reads otherwise drain to none in flight at every page boundary)."""
    request = first
    pending: asyncio.Future[Any] | None = asyncio.ensure_future(http.send(request))
    try:
        while pending is not None:
            page = await pending
            following = V2_PAGINATOR.next_request(page, request)
            pending = None
            if following is not None:
                request, pending = following, asyncio.ensure_future(http.send(following))
            yield page_data(page), following is None
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)


def _unmoved(deal: Mapping[str, Any]) -> dict[str, Any]:
    """A deal that never moved stage, as a flow without changes (no request)."""
    return {"id": str(deal["id"]), "deal": {k: deal.get(k) for k in DEAL_KEYS}, "changes": []}


async def _history(http: HttpClient, deal: Mapping[str, Any]) -> dict[str, Any]:
    """The deal (its keys that matter) and every ``dealChange`` of its flow, all pages."""
    changes: list[Mapping[str, Any]] = []
    request: Request | None = Request(
        path=settings.V1_DEAL_FLOW.format(id=deal["id"]),
        params={"items": "dealChange", "limit": settings.PAGE_SIZE},
    )
    while request is not None:
        page = await http.send(request)
        changes.extend(
            item["data"]
            for item in page_data(page)
            if item.get("object") == "dealChange" and isinstance(item.get("data"), Mapping)
        )
        request = V1_PAGINATOR.next_request(page, request)
    return {"id": str(deal["id"]), "deal": {k: deal.get(k) for k in DEAL_KEYS}, "changes": changes}
