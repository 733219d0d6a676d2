"""What `crmkpi demo` prints: the key apart from the dashboard URL, or in its fragment
(browsers never send a fragment to a server), never in a query string (#22)."""

from __future__ import annotations

from api.commands.common import out
from api.commands.demo import _print_summary

KEY = "ck_" + "x" * 43


def test_the_key_is_never_in_a_query_string() -> None:
    state = {"organization_id": "org_1", "workspace_ids": ["w1", "w2"], "api_key": KEY}
    with out.capture() as captured:
        _print_summary(state, "http://127.0.0.1:8000")
    text = captured.get()
    assert "Dashboard     http://127.0.0.1:8000/dashboard/  (paste the API key once)" in text
    assert f"http://127.0.0.1:8000/dashboard/#key={KEY}" in text
    assert f"API key       {KEY}" in text
    assert "?key=" not in text and "[b]" not in text
