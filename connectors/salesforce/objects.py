"""The objects read as they are and mapped one row to one record: one table, one class.

Users, roles, accounts, contacts and activities differ only in their object, record class,
mapping function and a few flags (:class:`Plain`); :func:`plain_stream` makes each one's
stream class from its row. Streams with more to them (pipelines, stages, leads, deals,
rates) are classes of their own in ``streams`` and ``currencies``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, cast

from connectors.salesforce import mapping
from connectors.salesforce.streams import SalesforceStream
from core.sync.connector import StreamContext
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


class PlainStream(SalesforceStream):
    """A stream made from a :class:`Plain` row by :func:`plain_stream`."""

    plain: ClassVar[Plain]

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
            lambda raw, ctx: mapping.map_contact(raw),
            "Contacts.",
        ),
        Plain(
            "tasks",
            "Task",
            ActivityRecord,
            lambda raw, ctx: mapping.map_task(raw),
            "Calls, emails and to-dos, archived (old closed) ones included.",
            query_all=True,
            depends_on=("deals",),
        ),
        Plain(
            "events",
            "Event",
            ActivityRecord,
            lambda raw, ctx: mapping.map_event(raw, now=ctx.now or datetime.now(UTC)),
            "Meetings, archived ones included.",
            query_all=True,
        ),
        Plain(
            "notes",
            "Note",
            ActivityRecord,
            lambda raw, ctx: mapping.map_note(raw),
            "Notes.",
            capability="notes",
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
