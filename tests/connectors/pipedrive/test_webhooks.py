"""Webhook basic-auth check and payload reading (v1 and v2)."""

from __future__ import annotations

import base64

import pytest

from connectors.pipedrive.webhooks import WebhookEvent, parse_event, verify_basic_auth, wants_sync


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (_basic("hook", "s3cret"), True),
        (_basic("hook", "wrong"), False),
        (_basic("other", "s3cret"), False),
        ("Bearer abc", False),
        ("Basic not-base64!!", False),
        (None, False),
    ],
)
def test_verify_basic_auth(header: str | None, ok: bool) -> None:
    assert verify_basic_auth(header, "hook", "s3cret") is ok


def test_no_configured_credentials_rejects_everything() -> None:
    assert not verify_basic_auth(_basic("", ""), "", "")


def test_parse_v1_and_v2_payloads() -> None:
    v1 = {"v": 1, "event": "updated.deal", "meta": {"action": "updated", "object": "deal", "id": 5}}
    v2 = {"meta": {"action": "delete", "entity": "person", "entity_id": "9"}, "data": None}
    assert parse_event(v1) == WebhookEvent("deal", "updated", "5")
    assert parse_event(v2) == WebhookEvent("person", "delete", "9")
    assert parse_event({"nothing": 1}) is None
    assert wants_sync(parse_event(v2))
    assert not wants_sync(parse_event({"meta": {"entity": "product", "action": "change"}}))


def test_delete_events_of_synced_objects_ask_for_a_sync() -> None:
    """``delete.*`` webhooks (notes included) trigger a sync: deleted deals show at once,
    the other objects at the next full sync (docs/connectors/pipedrive.md)."""
    for obj in ("deal", "person", "organization", "activity", "note", "lead"):
        payload = {"meta": {"entity": obj, "action": "delete", "entity_id": "7"}, "data": None}
        assert wants_sync(parse_event(payload)), obj
    assert not wants_sync(parse_event({"meta": {"entity": "product", "action": "delete"}}))
