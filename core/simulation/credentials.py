"""The client credentials of an OAuth token request, as every simulator's token endpoint reads
them.

RFC 6749 (2.3.1) lets a client send ``client_id`` and ``client_secret`` as HTTP Basic,
each form-urlencoded before the pair is base64-encoded; Salesforce and Pipedrive document
Basic for their token endpoints. Decoding both layers here keeps the simulators from
refusing a client that encodes a character they did not expect.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote_plus


def basic_client(header: str) -> tuple[str, str] | None:
    """``(client_id, client_secret)`` of ``Authorization: Basic ...``; None when the header
    is not Basic or does not decode to ``id:secret``."""
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (unquote_plus(client_id), unquote_plus(secret)) if sep else None
