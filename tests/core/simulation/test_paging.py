"""The paging and window machinery the three simulators share (core.simulation.paging)."""

from __future__ import annotations

import pytest

from core.simulation.paging import FixedWindow, decode_cursor, encode_cursor, page


def test_pages_slice_and_point_at_their_successor() -> None:
    items = list(range(7))
    first = page(items, 0, 3)
    assert list(first.items) == [0, 1, 2] and first.next == 3
    last = page(items, 6, 3)
    assert list(last.items) == [6] and last.next is None
    exact = page(items, 4, 3)  # ends on the last item: no empty page after it
    assert list(exact.items) == [4, 5, 6] and exact.next is None
    assert page(items, 9, 3).next is None
    for start, limit in ((-1, 3), (0, 0)):
        with pytest.raises(ValueError):
            page(items, start, limit)


def test_cursors_are_opaque_and_refuse_what_they_did_not_make() -> None:
    cursor = encode_cursor(500)
    assert "500" not in cursor and "=" not in cursor
    assert decode_cursor(cursor) == 500
    for bad in ("nope", encode_cursor(-1), "W10", "eyJvZmZzZXQiOiJ4In0"):  # [] / offset "x"
        with pytest.raises(ValueError):
            decode_cursor(bad)


def test_a_fixed_window_counts_and_resets() -> None:
    window = FixedWindow(2.0)
    assert [window.hit(100.0), window.hit(100.5), window.hit(101.9)] == [1, 2, 3]
    assert window.reset_in(100.5) == 2 and window.reset_in(101.9) == 1
    assert window.hit(102.0) == 1  # a new window from this request
    assert window.reset_in(102.0) == 2
