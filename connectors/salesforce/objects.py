"""The objects read as they are and mapped one row to one record: one table, one class.

Users, roles, accounts, contacts and activities differ only in their object, record class,
mapping function and a few flags (:class:`Plain`); :func:`plain_stream` makes each one's
stream class from its row. Streams with more to them (pipelines, stages, leads, deals,
rates) are classes of their own in ``streams`` and ``currencies``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from connectors.salesforce import activities, mapping, parents
from connectors.salesforce.metadata import org_timezone
from connectors.salesforce.state import run_state
from connectors.salesforce.streams import SalesforceStream
from core.sync.connector import HttpClient, Page, StreamContext
from core.sync.records import (
    AccountRecord,
    ActivityRecord,
    AnyRecord,
    ContactRecord,
    Record,
    TeamRecord,
    UserRecord,
)

Mapper = Callable[[Mapping[str, Any], StreamContext], AnyRecord]
Preparer = Callable[[HttpClient, StreamContext], Awaitable[object]]
Completer = Callable[
    [HttpClient, StreamContext, Sequence[Mapping[str, Any]]], Awaitable[list[Mapping[str, Any]]]
]


@dataclass(frozen=True, slots=True)
class Plain:
    """What sets apart the objects read as they are and mapped one row to one record."""

    name: str
    sobject: str
    record: type[Record]
    mapper: Mapper
    doc: str
    #: Deleted rows are listed (users are deactivated and roles renamed, never deleted).
    deletions: bool = True
    #: Read with ``queryAll``: archived activities are hidden from ``query``.
    query_all: bool = False
    depends_on: tuple[str, ...] = ()
    #: The optional capability the object is: the stream is SKIPPED without it.
    capability: str | None = None
    #: Org metadata read before the rows (once per run, kept in the run state).
    prepare: Preparer | None = None
    #: Each page's rows completed before they are mapped (look-ups of related records).
    complete: Completer | None = None


class PlainStream(SalesforceStream):
    """A stream made from a :class:`Plain` row by :func:`plain_stream`."""

    plain: ClassVar[Plain]

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:
        await super().prepare(http, ctx)
        if self.plain.prepare is not None:
            await self.plain.prepare(http, ctx)

    async def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        complete = self.plain.complete
        async for page in super().read(http, ctx):
            if complete is not None and page.raws:
                page = replace(page, raws=await complete(http, ctx, page.raws))
            yield page

    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        return [self.plain.mapper(raw, ctx)]


def plain_stream(plain: Plain) -> type[PlainStream]:
    """The stream class of one :class:`Plain` row."""
    attributes = {
        "__doc__": plain.doc,
        "plain": plain,
        "name": plain.name,
        "sobject": plain.sobject,
        "produces": (plain.record,),
        "deleted_type": plain.record if plain.deletions else None,
        "query_all": plain.query_all,
        "depends_on": plain.depends_on,
        "capability": plain.capability,
        "requires": () if plain.capability is None else (plain.capability,),
    }
    return cast(type[PlainStream], type(f"{plain.sobject}Stream", (PlainStream,), attributes))


PLAIN = {
    plain.name: plain_stream(plain)
    for plain in (
        Plain(
            "teams",
            "UserRole",
            TeamRecord,
            lambda raw, ctx: mapping.map_role(raw),
            "User roles as teams (``User.UserRoleId``).",
            deletions=False,
            capability="user_roles",
        ),
        Plain(
            "users",
            "User",
            UserRecord,
            lambda raw, ctx: mapping.map_user(raw),
            "Users; deactivated, never deleted.",
            deletions=False,
        ),
        Plain(
            "accounts",
            "Account",
            AccountRecord,
            lambda raw, ctx: mapping.map_account(raw),
            "Accounts.",
        ),
        Plain(
            "contacts",
            "Contact",
            ContactRecord,
            lambda raw, ctx: mapping.map_contact(
                raw, run_state(ctx).date_fields(), run_state(ctx).zone
            ),
            "Contacts, with MQL, SQL and customer dates from the org's custom date fields.",
            prepare=org_timezone,
        ),
        Plain(
            "tasks",
            "Task",
            ActivityRecord,
            lambda raw, ctx: activities.map_task(raw, run_state(ctx).zone),
            "Calls, emails and to-dos, archived (old closed) ones included; due dates are "
            "days of the org's time zone.",
            query_all=True,
            depends_on=("deals",),
            prepare=org_timezone,
        ),
        Plain(
            "events",
            "Event",
            ActivityRecord,
            lambda raw, ctx: activities.map_event(raw, now=ctx.now or datetime.now(UTC)),
            "Meetings, archived ones included.",
            query_all=True,
        ),
        Plain(
            "notes",
            "Note",
            ActivityRecord,
            lambda raw, ctx: activities.map_note(raw),
            "Notes, with the account of their contact or opportunity.",
            capability="notes",
            complete=parents.add_parent_accounts,
        ),
    )
}
TeamsStream = PLAIN["teams"]
UsersStream = PLAIN["users"]
AccountsStream = PLAIN["accounts"]
ContactsStream = PLAIN["contacts"]
TasksStream = PLAIN["tasks"]
EventsStream = PLAIN["events"]
NotesStream = PLAIN["notes"]
