"""Structured logging: JSON lines when not on a terminal, readable lines on one.

Context such as the request id, connection id and run id is bound with structlog's
contextvars and appears on every line logged while it is bound.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = (
    "authorization",
    "access_token",
    "refresh_token",
    "api_key",
    "api_token",
    "client_secret",
    "password",
    "credentials",
    "token",
)


_SECRET_NAMES = "|".join(
    ("api_?token", "access_?token", "refresh_?token", "client_?secret", "password", "secret_?keys?")
)
#: Secrets inside text: a credential input (``{name: "api_token", value: "..."}``, as a
#: GraphQL literal or JSON), ``secret_name: value`` / ``=value`` pairs, bearer tokens, and
#: crmkpi API keys (``ck_...``). A GraphQL error quotes the document it refuses, inline
#: credentials included (issue #20): every line goes through these.
_TEXT_SECRETS = (
    (
        re.compile(r'(\bname\b"?\s*:\s*"[^"]*"\s*,\s*"?value"?\s*:\s*)"(?:[^"\\]|\\.)*"'),
        r'\1"***"',
    ),
    (
        re.compile(rf'(?i)(\b(?:{_SECRET_NAMES})\b"?\s*[:=]\s*"?)[^"\s,&}}]+'),
        r"\1***",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 ***"),
    (re.compile(r"\bck_[A-Za-z0-9_-]{8,}"), "ck_***"),
)


def scrub(text: str) -> str:
    """``text`` with every secret it quotes replaced by ``***``."""
    for pattern, replacement in _TEXT_SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [_scrubbed(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items()}
    return value


def _redact(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: never print a value under a key that names a secret, nor a
    secret quoted inside any text (the event, an error message, a traceback)."""
    for key in list(event):
        if any(part in key.lower() for part in _SECRET_KEYS):
            event[key] = "***"
        elif key == "event" and not isinstance(event[key], str):
            event[key] = scrub(str(event[key]))  # a GraphQLError logged by a library
        elif not key.startswith("_") and key not in ("exc_info", "stack_info"):
            event[key] = _scrubbed(event[key])
    return event


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Configure structlog and the standard library logging once per process."""
    json_output = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json_output
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, _redact, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _redact,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
