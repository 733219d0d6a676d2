"""One HTTP exchange with a simulator, as the contract checks of tests/contracts see it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Exchange:
    method: str
    path: str
    #: The raw query string (``a=1&b=2``).
    query: str
    #: Request headers, names in lower case.
    headers: dict[str, str]
    #: The request body as sent.
    body: bytes
    status: int = 0
    #: Response headers, names in lower case.
    response_headers: dict[str, str] = field(default_factory=dict)
    response: bytes = b""
