"""The connector contract: a Connector declares auth, limits, capabilities and streams; a
Stream reads pages. The engine (core.sync.runner) owns the writes, cursors and retries.

A connector never touches the database, state or retries. The engine calls, per stream::

    async for page in stream.read(http, ctx):       # rate limit, retries, auth refresh inside
        records = [r for raw in page.raws for r in stream.map(raw, ctx)]  # MappingError: quarantine
        upsert(records); soft_delete(page.deleted)
        commit(cursor=page.cursor or max(stream.cursor_of(raw) for raw in page.raws))

``Stream.read`` defaults to the declarative path (core.sync.declarative)::

    await stream.prepare(http, ctx)                 # optional metadata reads (fields, describe)
    request = stream.first_request(ctx)             # from ctx.start_cursor in INCREMENTAL mode
    while request is not None:                      # one page of prefetch
        page = await http.send(request)
        yield Page(raws=stream.extract(page))
        request = stream.next_request(page, request, ctx)
    request = stream.deletions_request(ctx)         # where the CRM lists deleted records
    while request is not None:
        page = await http.send(request)
        yield Page(deleted=stream.extract_deleted(page))
        request = stream.next_deletions_request(page, request, ctx)

A stream whose reads do not fit that shape overrides ``read`` as a plain loop. A stream
that needs an optional capability names it in ``requires`` (skipped while unavailable) or
raises :class:`~core.sync.capabilities.CapabilityUnavailable`; a request with
``capability`` set lets the HTTP layer raise it from the connector's
``unavailable_reason``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, Protocol, TypeAlias

import httpx

from core.models.enums import SyncMode
from core.simulation.options import SimulatorOptions
from core.sync.capabilities import Capabilities, Capability
from core.sync.errors import MappingError as MappingError
from core.sync.errors import json_error_message
from core.sync.limits import DAILY_BUDGET as DAILY_BUDGET
from core.sync.limits import DEFAULT_BUDGET as DEFAULT_BUDGET
from core.sync.limits import Budget as Budget
from core.sync.limits import DailyBudget as DailyBudget
from core.sync.limits import QuotaReading as QuotaReading
from core.sync.limits import RateLimitPolicy as RateLimitPolicy
from core.sync.mappings import FieldMappings
from core.sync.pagination import BasePaginator
from core.sync.records import AnyRecord, Record

#: An ASGI application (scope, receive, send); typed loosely to keep core free of starlette.
ASGIApp: TypeAlias = Callable[..., Awaitable[None]]


class WebhookRejected(ValueError):
    """A webhook delivery that is not genuine or not fresh; the message says why."""


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """An incoming webhook request, as the HTTP layer received it."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP call. ``path`` is relative to the base URL, or an absolute URL.

    ``decode`` says what ``HttpClient.send`` returns: the decoded JSON body (default), or
    for ``"text"`` a :class:`TextBody` (CSV exports such as Salesforce Bulk API results,
    whose paging lives in response headers).
    """

    method: str = "GET"
    path: str = ""
    params: Mapping[str, Any] | None = None
    json: Any = None
    #: Named budgets of the connector's RateLimitPolicy this call draws from besides the
    #: default one (HubSpot search calls: ``("search",)``).
    budgets: tuple[str, ...] = ()
    #: ``text``: the body is returned as a TextBody (Bulk API CSV) instead of decoded JSON.
    decode: Literal["json", "text"] = "json"
    #: The optional capability this call reads (``"leads_object"``): a 4xx answer that
    #: ``Connector.unavailable_reason`` classifies raises CapabilityUnavailable, unretried.
    capability: str | None = None


@dataclass(frozen=True, slots=True)
class TextBody:
    """A non-JSON answer: its text and headers (lower-case names)."""

    text: str
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """Incremental position: last-modified time, then the remote id to break ties.

    ``resume`` is where a stream stopped inside a read that has no order (a Salesforce Bulk
    API job and its results locator): saved with each page, given back to the stream on
    the next run. It takes no part in ordering; a cursor whose ``resume`` differs from the
    saved one is saved even when it is not greater (see core.sync.streams).
    """

    updated_at: datetime
    remote_id: str = ""
    resume: Mapping[str, str] | None = field(default=None, compare=False)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "updated_at": self.updated_at.isoformat(),
            "remote_id": self.remote_id,
        }
        if self.resume:
            data["resume"] = dict(self.resume)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        resume = data.get("resume")
        return cls(
            datetime.fromisoformat(data["updated_at"]),
            str(data.get("remote_id", "")),
            {str(k): str(v) for k, v in resume.items()} if isinstance(resume, Mapping) else None,
        )


@dataclass(frozen=True, slots=True)
class Page:
    """What ``Stream.read`` yields: raw records to map and write, deleted records to
    soft-delete, and optionally the cursor this page brings the stream to.

    ``cursor`` None: the engine computes it from ``Stream.cursor_of`` over ``raws`` (saved
    with each page of a ``cursor_ordered`` stream, else once the ``final`` page is read or
    the read ends). A set ``cursor`` is saved with this page: the stream vouches that
    everything before it is in this page or an earlier one.
    """

    raws: Sequence[Mapping[str, Any]] = ()
    deleted: Sequence[tuple[type[Record], str]] = ()
    cursor: Cursor | None = None
    #: The last page of records (deletion pages may follow): the computed cursor is saved.
    final: bool = False
    #: Records that still exist though not read again: a full read's sweep keeps them.
    kept: Sequence[tuple[type[Record], str]] = ()


@dataclass(frozen=True, slots=True)
class CredentialField:
    name: str
    description: str
    secret: bool = True
    required: bool = True


@dataclass(frozen=True, slots=True)
class OptionField:
    """A non-secret setting of a connection (``crmkpi connection add --option K=V``),
    stored unencrypted in ``connections.options``; ``default`` applies when unset."""

    name: str
    description: str
    default: str | None = None


@dataclass(slots=True)
class Auth:
    """What a request needs to be authenticated.

    ``base_url`` overrides the connection's (Salesforce's ``instance_url``);
    ``credentials`` is set when a refresh produced new ones for the engine to store.
    """

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    base_url: str | None = None
    credentials: dict[str, str] | None = None


class HttpClient(Protocol):
    """The engine's HTTP policy as streams see it (rate limit, retries, auth included)."""

    async def send(self, request: Request) -> Any:
        """Send ``request`` and return the decoded JSON body (a TextBody if it asks for text)."""


#: Look-back of incremental reads when the connection sets none (``lookback_minutes``).
DEFAULT_LOOKBACK = timedelta(minutes=10)
#: The longest look-back a connection may set: a week.
MAX_LOOKBACK_MINUTES = 7 * 24 * 60


@dataclass(slots=True)
class StreamContext:
    """What a stream knows about the run it is part of."""

    connection_id: str
    mode: SyncMode
    start_cursor: Cursor | None = None
    lookback: timedelta = DEFAULT_LOOKBACK
    #: Field mappings of the connection.
    mappings: FieldMappings = field(default_factory=FieldMappings)
    #: Run start; incremental reads never ask beyond it.
    now: datetime | None = None
    #: What the account offers, as stored on the connection (refreshed by full syncs).
    capabilities: Capabilities = field(default_factory=Capabilities)
    #: The connection's non-secret options (``Connector.option_fields``, defaults applied).
    options: Mapping[str, str] = field(default_factory=dict)
    #: One object per run from ``Connector.new_state(options)``, shared by its streams
    #: (each connector reads it through its own typed accessor).
    state: Any = None

    def since(self) -> datetime | None:
        """The incremental lower bound: the cursor minus the look-back window."""
        if self.mode is SyncMode.FULL or self.start_cursor is None:
            return None
        return self.start_cursor.updated_at - self.lookback


class Stream(ABC):
    """A declarative stream, singer-style: set the class attributes, override what differs."""

    name: ClassVar[str]
    #: Record classes this stream yields (documentation and `crmkpi connectors list`).
    produces: ClassVar[tuple[type[Record], ...]] = ()
    #: Streams whose data this one reads from ``ctx.state`` (they run first; a failed one
    #: BLOCKS this stream, a capability-SKIPPED one does not).
    depends_on: ClassVar[tuple[str, ...]] = ()
    #: Capability keys this stream needs: SKIPPED while one is UNAVAILABLE.
    requires: ClassVar[tuple[str, ...]] = ()
    incremental: ClassVar[bool] = False
    #: True when deletions_request() lists deleted records.
    finds_deletions: ClassVar[bool] = False
    paginator: ClassVar[BasePaginator[Any] | None] = None
    #: True when reads return records in ascending cursor order (last-modified, then id):
    #: the engine then commits the cursor with every page, so a crashed run resumes where
    #: it stopped. False (safe default): the cursor is committed when the stream completes.
    cursor_ordered: ClassVar[bool] = False
    keeps_cursor_on_full: ClassVar[bool] = False  # True: FULL syncs get its cursor too

    def read(self, http: HttpClient, ctx: StreamContext) -> AsyncIterator[Page]:
        """The stream's pages: the one method the engine calls. The default is the
        declarative path (``prepare``, ``first_request``/``next_request``/``extract`` with
        one page of prefetch, then the deletion requests); override it as a plain loop
        when reads do not fit that shape."""
        from core.sync.declarative import read_declarative

        return read_declarative(self, http, ctx)

    async def prepare(self, http: HttpClient, ctx: StreamContext) -> None:  # noqa: B027
        """Read metadata before the first page (custom field definitions, describe)."""

    def first_request(self, ctx: StreamContext) -> Request | None:
        """The first page: a full read, or an incremental read from ``ctx.since()``.
        Declarative streams implement it (None: nothing to read); streams overriding
        ``read`` need not."""
        raise NotImplementedError(f"stream {self.name} implements neither read nor first_request")

    def next_request(self, page: Any, request: Request, ctx: StreamContext) -> Request | None:
        """The request of the next page, or None after the last page."""
        if self.paginator is None:
            return None
        return self.paginator.next_request(page, request)

    def extract(self, page: Any) -> Sequence[Mapping[str, Any]]:
        """The raw records of a page (declarative streams)."""
        raise NotImplementedError(f"stream {self.name} implements neither read nor extract")

    @abstractmethod
    def map(self, raw: Mapping[str, Any], ctx: StreamContext) -> Iterable[AnyRecord]:
        """Pure mapping of one raw record (may yield several); raise MappingError if bad."""

    def cursor_of(self, raw: Mapping[str, Any]) -> Cursor | None:
        """The cursor a raw record advances the stream to (incremental streams)."""
        return None

    def remote_id_of(self, raw: Mapping[str, Any]) -> str | None:
        """The remote id, for quarantine records; override when it is not ``raw["id"]``."""
        value = raw.get("id") if isinstance(raw, Mapping) else None
        return None if value is None else str(value)

    def deletions_request(self, ctx: StreamContext) -> Request | None:
        """The first page of deleted / archived records, or None."""
        return None

    def next_deletions_request(
        self, page: Any, request: Request, ctx: StreamContext
    ) -> Request | None:
        return self.next_request(page, request, ctx)

    def extract_deleted(self, page: Any) -> Sequence[tuple[type[Record], str]]:
        """(record class, remote id) of each deleted record in a deletions page."""
        return []


class Connector(ABC):
    """One CRM. Subclasses set the class attributes and implement auth and streams."""

    name: ClassVar[str]
    title: ClassVar[str]
    default_base_url: ClassVar[str]
    credential_fields: ClassVar[tuple[CredentialField, ...]]
    rate_limit: ClassVar[RateLimitPolicy]
    #: Non-secret settings a connection may set (``--option K=V``), see ``StreamContext.options``.
    option_fields: ClassVar[tuple[OptionField, ...]] = ()

    @abstractmethod
    def streams(self) -> Sequence[Stream]:
        """The streams, in the order they should run (dependency order)."""

    @abstractmethod
    async def authenticate(
        self,
        http: httpx.AsyncClient,
        credentials: Mapping[str, str],
        base_url: str,
        *,
        refresh: bool = False,
    ) -> Auth:
        """Headers/params for requests; ``refresh=True`` after a 401 (OAuth refresh)."""

    async def discover(self, http: HttpClient, ctx: StreamContext) -> Sequence[Capability]:
        """What the account offers (optional objects, permissions, features). Called at
        ``connection add``, ``verifyCredentials``, ``crmkpi connection check`` and at the
        start of every full sync; stored on the connection. Default: nothing to discover."""
        return ()

    def unavailable_reason(self, response: httpx.Response) -> str | None:
        """Why a 4xx answer to a request with ``Request.capability`` means the account
        lacks that capability ("not available on this portal (HTTP 404)"), or None when it
        is an ordinary failure. Default: never."""
        return None

    def error_message(self, response: httpx.Response) -> str | None:
        """The CRM's own explanation of a failed request, for the stream's error (at most
        300 characters, one line). Default: the usual JSON shapes (``message``, ``error``,
        ``error_description``, a list of ``{"message"}``, ``errors[0].message``); override
        to return None when a CRM's messages may echo something secret."""
        return json_error_message(response)

    def new_state(self, options: Mapping[str, str]) -> Any:
        """The per-run state the connector's streams share (``StreamContext.state``)."""
        return None

    def account_key(self, credentials: Mapping[str, str], base_url: str) -> str:
        """Identifies the CRM account whose rate limit is shared (default: the base URL)."""
        return f"{self.name}:{base_url}"

    @classmethod
    def webhook_wants_sync(cls, delivery: WebhookDelivery, credentials: Mapping[str, str]) -> bool:
        """Verify a webhook delivery for a connection with ``credentials``.

        Raise WebhookRejected when it is not genuine (signature, shared secret) or is a
        replay; return True when it reports changes worth an incremental sync. The default
        refuses every delivery: a connector without webhooks accepts none.
        """
        raise WebhookRejected(f"{cls.name} does not receive webhooks")

    def is_auth_error(self, response: httpx.Response) -> bool:
        """True when ``response`` means the token expired (401 by default)."""
        return response.status_code == 401

    def budgets_for(self, request: Request) -> tuple[str, ...]:
        """The extra budgets ``request`` draws from (default: the ones it names)."""
        return request.budgets

    def read_quota(self, response: httpx.Response) -> Sequence[QuotaReading]:
        """What the CRM's quota headers (or a quota error) say is left, after every
        response; the limiter slows down and stops by them. Default: nothing beyond the
        policy's ``remaining_header``."""
        return ()

    @classmethod
    def simulator(cls, options: SimulatorOptions) -> ASGIApp | None:
        """An ASGI app serving a generated dataset in this CRM's shapes (``crmkpi simulate``).

        ``options.faults`` is a :class:`core.simulation.faults.FaultSpec` string the app
        should wrap itself in, ``options.account`` the account variant it plays. None (the
        default) means the connector ships no simulator.
        """
        return None

    @classmethod
    def simulator_credentials(cls) -> dict[str, str]:
        """The credentials the simulator accepts (printed by ``crmkpi simulate``)."""
        return {}
