"""An HTTP/1.1 answer parsed by httptools (llhttp), as httpcore's h11 connection gives it.

llhttp (the C parser of Node.js; httptools is MagicStack's binding, also uvicorn's) reads
the status line, the headers, Content-Length, chunked bodies with their trailers and
interim (1xx) answers, and says whether the connection may be kept. What it leaves to
its caller is done here, so that an answer comes out as httpcore's h11 connection makes
it: a HEAD answer has no body; obsolete line folding is unfolded to one space (RFC 9112
5.2 asks it of a user agent; h11 does it, llhttp refuses it); a body with neither
Content-Length nor chunked ends when the connection does; the header section is limited
to h11's 100 KB; header values lose surrounding whitespace; trailers are dropped; an
HTTP/1.0 answer is never kept alive; a transfer coding other than chunked alone is
refused, as h11 refuses it (its body could only be handed on still coded). Two of
llhttp's refusals are lifted to read what h11 reads: a bare LF as line end (RFC 9112 2.2
allows it) and Transfer-Encoding with Content-Length (the coding wins, RFC 9112 6.3).
"""

from __future__ import annotations

import re

import httpcore
import httptools

#: h11's limit on an incomplete header section (httpcore's ``MAX_INCOMPLETE_EVENT_SIZE``).
MAX_HEAD_BYTES = 100 * 1024

#: A header line continued on the next (obs-fold): one space, as h11 joins it.
_FOLD = re.compile(rb"\r?\n[ \t]+")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_INTERIM = re.compile(rb"HTTP/[0-9]\.[0-9] 1[0-9][0-9]")


class Answer:
    """One answer being parsed: httptools' callbacks collect its head and body."""

    __slots__ = (
        "body",
        "done",
        "folded",
        "head_done",
        "head_request",
        "headers",
        "keep_alive",
        "parser",
        "reason",
        "received",
        "refused",
        "seen",
        "status",
        "stray",
        "version",
    )

    def __init__(self, head_request: bool) -> None:
        self.head_request = head_request
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.version = b"HTTP/1.1"
        self.keep_alive = False
        self.head_done = False
        self.done = False
        self.body: list[bytes] = []
        self.received = 0  #: bytes fed before the head was complete
        self.stray = False  #: bytes after the answer: the connection is not reused
        self.seen: list[bytes] = []  #: what was fed before the head was complete
        self.folded = False
        self.refused = ""  #: why the answer is refused once its head is read
        self.parser = _parser(self)

    # -- httptools callbacks ------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.done:
            self.stray = True
            return
        self.reason = b""
        self.headers = []

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.head_done:  # (after the head: a chunked body's trailers, which
            self.headers.append((name, value.rstrip(b" \t")))  # httpcore drops too)

    def on_headers_complete(self) -> None:
        if self.done:
            return
        parser = self.parser
        status = parser.get_status_code()
        if status < 200:  # interim (100, 103, ...): llhttp ends it, the final one follows
            return  # (101 Switching Protocols: llhttp stops with an error)
        self.status = status
        self.version = b"HTTP/" + parser.get_http_version().encode()
        self.head_done = True
        self.seen = []
        codings = [v for k, v in self.headers if len(k) == 17 and k.lower() == b"transfer-encoding"]
        if codings and (len(codings) > 1 or codings[0].lower() != b"chunked"):
            # h11's refusal: a body in a coding other than chunked alone could only be
            # handed on still coded (httpx decodes content codings, not transfer ones)
            self.refused = "Only Transfer-Encoding: chunked is supported"
        if self.head_request:  # no body, whatever the headers announce (llhttp cannot know)
            self.keep_alive = self.version == b"HTTP/1.1" and not _closes(self.headers)
            self.done = True
        else:
            # llhttp keeps an HTTP/1.0 "Connection: keep-alive" answer; h11 never does
            self.keep_alive = self.version == b"HTTP/1.1" and parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self.done:
            self.stray = True
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        if self.head_done and not self.done:
            self.done = True

    # -- feeding -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Parse ``data``; httpcore's RemoteProtocolError for what is not HTTP/1.1."""
        if not self.head_done:
            self.received += len(data)
            self.seen.append(data)
        try:
            if self.folded and not self.head_done:
                self._refeed()
            else:
                self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            if self.done:  # the answer is whole; what followed it is not used
                self.stray = True
                return
            if self.head_done or not _FOLD.search(b"".join(self.seen)):
                raise httpcore.RemoteProtocolError(f"invalid HTTP answer: {exc}") from None
            self.folded = True
            try:
                self._refeed()
            except httptools.HttpParserError as again:
                raise httpcore.RemoteProtocolError(f"invalid HTTP answer: {again}") from None
        if not self.head_done and self.received > MAX_HEAD_BYTES:
            raise httpcore.RemoteProtocolError("the answer's header section is too long")
        if self.refused:
            raise httpcore.RemoteProtocolError(self.refused)

    def _refeed(self) -> None:
        """Everything received so far again, obsolete line folds unfolded, to a new parser."""
        self.reason, self.headers, self.body = b"", [], []
        self.parser = _parser(self)
        self.parser.feed_data(_unfold(b"".join(self.seen)))

    def finish(self) -> None:
        """Drop the parser once the answer is read whole. It holds this answer's callbacks:
        a reference cycle, which kept every answer and its body alive until a cyclic
        collection, and a sync runs those rarely (core.sync.gcpolicy): 47 MB more peak RSS
        on a 10,000-deal HubSpot sync. Nothing is fed to a finished answer."""
        del self.parser

    def take(self, data: bytes) -> None:
        """One read of the connection: received bytes are fed, ``b""`` (the server closed
        it) is :meth:`eof`."""
        if data:
            self.feed(data)
        else:
            self.eof()

    def eof(self) -> None:
        """The server closed the connection: the end of a close-delimited body, else an
        error (httpcore's RemoteProtocolError)."""
        if self.done:
            return
        if not self.head_done:
            if self.received == 0:
                raise httpcore.RemoteProtocolError(
                    "Server disconnected without sending a response."
                )
            raise httpcore.RemoteProtocolError("peer closed connection in the answer's head")
        if not _delimited_by_close(self.headers):
            raise httpcore.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            )
        self.done = True
        self.keep_alive = False


def _unfold(seen: bytes) -> bytes:
    """``seen`` with each obs-fold in its heads (interim ones, then the final one: not in
    a body that follows) replaced by one space, as h11 joins a continued line."""
    out: list[bytes] = []
    pos = 0
    while pos < len(seen):
        end = _HEAD_END.search(seen, pos)
        stop = end.end() if end else len(seen)
        first, newline, fields = seen[pos:stop].partition(b"\n")
        out.append(first + newline + _FOLD.sub(b" ", fields))
        pos = stop
        if not _INTERIM.match(first):
            break
    return b"".join(out) + seen[pos:]


def _parser(answer: Answer) -> httptools.HttpResponseParser:
    parser = httptools.HttpResponseParser(answer)
    # h11 takes a bare LF as a line end (RFC 9112 2.2 allows it) and lets
    # Transfer-Encoding override Content-Length (RFC 9112 6.3); llhttp refuses both.
    parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True, lenient_chunked_length=True)
    return parser


def _tokens(headers: list[tuple[bytes, bytes]], name: bytes) -> list[bytes]:
    return [
        token.strip().lower()
        for key, value in headers
        if key.lower() == name
        for token in value.split(b",")
    ]


def _closes(headers: list[tuple[bytes, bytes]]) -> bool:
    return b"close" in _tokens(headers, b"connection")


def _delimited_by_close(headers: list[tuple[bytes, bytes]]) -> bool:
    """RFC 9112 6.3: a body without Content-Length or a final chunked coding ends when the
    connection does."""
    codings = _tokens(headers, b"transfer-encoding")
    if codings:
        return codings[-1] != b"chunked"
    return not any(key.lower() == b"content-length" for key, _ in headers)
