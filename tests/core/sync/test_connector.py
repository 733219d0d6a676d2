"""The connector contract's value types."""

from __future__ import annotations

from datetime import UTC, datetime

from core.sync.connector import Cursor


def test_cursor_json_keeps_resume_only_when_set() -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    plain = Cursor(at, "006A")
    assert plain.to_json() == {"updated_at": at.isoformat(), "remote_id": "006A"}
    assert Cursor.from_json(plain.to_json()) == plain
    inside = Cursor(at, "006A", {"job": "750x", "locator": "MTAw"})
    loaded = Cursor.from_json(inside.to_json())
    assert loaded.resume == {"job": "750x", "locator": "MTAw"}
    assert Cursor.from_json({**plain.to_json(), "resume": "garbage"}).resume is None


def test_resume_takes_no_part_in_ordering() -> None:
    at = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    inside = Cursor(at, "006A", {"job": "750x", "locator": "60"})
    assert inside == Cursor(at, "006A")
    assert Cursor(at, "006B") > inside
    assert hash(inside) == hash(Cursor(at, "006A"))
