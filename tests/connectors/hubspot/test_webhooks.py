"""Webhook v3 signature checks and event routing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from connectors.hubspot.webhooks import (
    WebhookRejected,
    signature_v3,
    streams_to_sync,
    verify_signature_v3,
)

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
URI = "https://crmkpi.example.com/webhooks/hubspot/conn-1"
BODY = b'[{"eventId":1,"subscriptionType":"deal.propertyChange","objectId":18000001}]'


def headers(signature: str, at: datetime = NOW) -> httpx.Headers:
    return httpx.Headers(
        {
            "x-hubspot-signature-v3": signature,
            "x-hubspot-request-timestamp": str(int(at.timestamp() * 1000)),
        }
    )


def sign(at: datetime = NOW, uri: str = URI, body: bytes = BODY) -> str:
    return signature_v3(SECRET, "POST", uri, body, str(int(at.timestamp() * 1000)))


def test_signature_is_hmac_sha256_of_method_uri_body_timestamp() -> None:
    timestamp = str(int(NOW.timestamp() * 1000))
    message = b"POST" + URI.encode() + BODY + timestamp.encode()
    expected = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest())
    assert sign() == expected.decode()


def test_a_genuine_fresh_request_passes() -> None:
    verify_signature_v3(SECRET, method="POST", uri=URI, body=BODY, headers=headers(sign()), now=NOW)


def test_encoded_uri_characters_are_decoded_before_signing() -> None:
    plain = sign(uri=URI + "?a=b:c")
    verify_signature_v3(
        SECRET,
        method="post",
        uri=URI + "%3Fa=b%3Ac",
        body=BODY,
        headers=headers(plain),
        now=NOW,
    )


@pytest.mark.parametrize(
    ("signed_at", "body", "secret", "reason"),
    [
        (NOW - timedelta(minutes=6), BODY, SECRET, "older than 5 minutes"),
        (NOW + timedelta(minutes=6), BODY, SECRET, "in the future"),
        (NOW, BODY + b" ", SECRET, "does not match"),
        (NOW, BODY, "another-secret", "does not match"),
    ],
)
def test_stale_tampered_or_foreign_requests_are_rejected(signed_at, body, secret, reason) -> None:
    signature = signature_v3(secret, "POST", URI, BODY, str(int(signed_at.timestamp() * 1000)))
    with pytest.raises(WebhookRejected, match=reason):
        verify_signature_v3(
            SECRET,
            method="POST",
            uri=URI,
            body=body,
            headers=headers(signature, signed_at),
            now=NOW,
        )


def test_missing_or_bad_headers_are_rejected() -> None:
    with pytest.raises(WebhookRejected, match="missing"):
        verify_signature_v3(SECRET, method="POST", uri=URI, body=BODY, headers={}, now=NOW)
    bad = httpx.Headers({"x-hubspot-signature-v3": "x", "x-hubspot-request-timestamp": "soon"})
    with pytest.raises(WebhookRejected, match="epoch milliseconds"):
        verify_signature_v3(SECRET, method="POST", uri=URI, body=BODY, headers=bad, now=NOW)


def test_events_name_the_streams_to_sync() -> None:
    body = (
        b'[{"subscriptionType":"deal.creation"},{"subscriptionType":"contact.deletion"},'
        b'{"subscriptionType":"company.merge"},{"subscriptionType":"ticket.creation"}]'
    )
    assert streams_to_sync(body) == {"deals", "contacts", "companies"}
    with pytest.raises(WebhookRejected, match="not a list"):
        streams_to_sync(b'{"subscriptionType":"deal.creation"}')
    with pytest.raises(WebhookRejected, match="not JSON"):
        streams_to_sync(b"<xml/>")
