"""A request's head as h11 writes it, checked as h11 checks it (core.http11 sends it).

The bytes are h11's (``h11.Request`` and its writer): ``METHOD target HTTP/1.1``, the
``Host`` header first, then the others in their order and casing, ``name: value``
lines and an empty line; Content-Length values de-duplicated as h11 does and a
Transfer-Encoding value lower-cased. What h11 refuses is refused with httpcore's
LocalProtocolError (which h11's errors become in httpcore): a name that is not a token,
a value with control characters or surrounding whitespace, conflicting Content-Lengths,
a transfer coding other than chunked, no Host or two, a method or target with illegal
characters. The patterns are h11's own (``h11._abnf``). A (name, value) pair that passed
is remembered, since a sync sends the same headers request after request.

CONNECT and Upgrade requests are refused too (core.http11: an egress client has no use
for a tunnel, and one would reach what the egress check did not see).
"""

from __future__ import annotations

import re
from functools import lru_cache

import httpcore
from h11._abnf import field_name, field_value, method, request_target

_NAME = re.compile(field_name.encode("ascii"))
_VALUE = re.compile(field_value.encode("ascii"))
_METHOD = re.compile(method.encode("ascii"))
_TARGET = re.compile(request_target.encode("ascii"))
_DIGITS = re.compile(rb"[0-9]+")
CONTENT_LENGTH_MAX_DIGITS = 20  # h11's

#: Header pairs whose check and lower-cased name are kept (functools.lru_cache's bound).
MAX_CHECKED = 512

#: The head's bytes, its Content-Length (None: not given), whether its body is chunked,
#: and whether it asks for the connection to be closed after the answer.
RequestHead = tuple[bytes, int | None, bool, bool]


#: Header lists whose lines are kept written: their Host line, other lines, Content-Length,
#: chunked, closes (a sync sends the same list request after request; lru_cache's bound).
MAX_FIELDS = 64


def request_head(request: httpcore.Request) -> RequestHead:
    """``request``'s head as h11 writes it (see the module docstring)."""
    host, lines, length, chunked, closes = _fields(tuple(request.headers))
    verb, target = request.method, request.url.target
    if verb == b"CONNECT":
        raise httpcore.LocalProtocolError("CONNECT requests are not sent by this client")
    if not _METHOD.fullmatch(verb):
        raise httpcore.LocalProtocolError("Illegal method characters")
    if not _TARGET.fullmatch(target):
        raise httpcore.LocalProtocolError("Illegal target characters")
    head = b"%s %s HTTP/1.1\r\n%s%s\r\n" % (verb, target, host, lines)
    return head, None if length is None else int(length), chunked, closes


@lru_cache(maxsize=MAX_FIELDS)
def _fields(
    headers: tuple[tuple[bytes, bytes], ...],
) -> tuple[bytes, bytes, bytes | None, bool, bool]:
    """The header lines of ``headers`` (Host's apart), checked (see the module docstring)."""
    host: list[bytes] = []
    lines: list[bytes] = []
    length: bytes | None = None
    chunked = closes = False
    for name, value in headers:
        lower = _checked(name, value)
        if lower == b"host":
            host.append(b"%s: %s\r\n" % (name, value))
            continue
        if lower == b"content-length":
            value = _content_length(value)
            if length is not None:
                if value != length:
                    raise httpcore.LocalProtocolError("conflicting Content-Length headers")
                continue
            length = value
        elif lower == b"transfer-encoding":
            if chunked:
                raise httpcore.LocalProtocolError("multiple Transfer-Encoding headers")
            value = value.lower()
            if value != b"chunked":
                raise httpcore.LocalProtocolError("Only Transfer-Encoding: chunked is supported")
            chunked = True
        elif lower == b"connection":
            closes = closes or b"close" in (t.strip().lower() for t in value.split(b","))
        elif lower == b"upgrade":
            raise httpcore.LocalProtocolError("Upgrade requests are not sent by this client")
        lines.append(b"%s: %s\r\n" % (name, value))
    if not host:
        raise httpcore.LocalProtocolError("Missing mandatory Host: header")
    if len(host) > 1:
        raise httpcore.LocalProtocolError("Found multiple Host: headers")
    return host[0], b"".join(lines), length, chunked, closes


@lru_cache(maxsize=MAX_CHECKED)
def _checked(name: bytes, value: bytes) -> bytes:
    """``name`` lower-cased, once the pair passed h11's checks."""
    if not _NAME.fullmatch(name):
        raise httpcore.LocalProtocolError(f"Illegal header name {name!r}")
    if not _VALUE.fullmatch(value):
        raise httpcore.LocalProtocolError(f"Illegal header value {value!r}")
    return name.lower()


def _content_length(value: bytes) -> bytes:
    lengths = {length.strip() for length in value.split(b",")}
    if len(lengths) != 1:
        raise httpcore.LocalProtocolError("conflicting Content-Length headers")
    length = lengths.pop()
    if not _DIGITS.fullmatch(length) or len(length) > CONTENT_LENGTH_MAX_DIGITS:
        raise httpcore.LocalProtocolError("bad Content-Length")
    return length
