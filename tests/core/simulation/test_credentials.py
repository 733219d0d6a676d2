"""HTTP Basic client credentials of the simulators' token endpoints (RFC 6749 2.3.1)."""

from __future__ import annotations

import base64

from core.simulation.credentials import basic_client


def _basic(raw: str) -> str:
    return "Basic " + base64.b64encode(raw.encode()).decode()


def test_plain_and_form_encoded_credentials_decode() -> None:
    assert basic_client(_basic("sim-id:sim-secret")) == ("sim-id", "sim-secret")
    assert basic_client(_basic("id%3Awith+colon:s%26cret")) == ("id:with colon", "s&cret")
    assert basic_client("basic " + _basic("a:b")[6:]) == ("a", "b")  # the scheme's case


def test_anything_else_is_no_client() -> None:
    assert basic_client("Bearer abc") is None
    assert basic_client(_basic("no-colon")) is None
    assert basic_client("Basic %%%") is None
    assert basic_client("Basic " + base64.b64encode(b"\xff:\xfe").decode()) is None
